"""A vendor's shop for the banner's browser tests (tests/browser/banner/): its pages, served from
their own origin by a small HTTP server in a thread, and its view of the ledger (registering its
site as an officer, asking what a visitor chose as its backend system)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.browser.conftest import LiveServer

BANNER = "#ledger-banner"
SHOP_PAGE = (Path(__file__).parent / "banner_shop_page.html").read_text(encoding="utf-8")
NOTICE_VERSION = "2026-03"
SCREEN = {"width": 1280, "height": 800}  # the screenshots' size
_WORDS = re.compile(r"\{t:([^|}]*)\|([^}]*)\}")  # {t:english|dutch}


@dataclass
class Shop:
    """The vendor's site: its pages' origin, its registered site, the ledger it embeds from."""

    url: str
    ledger: LiveServer
    site: dict[str, Any]

    def config(self) -> dict[str, Any]:
        """The banner's config, as the shop's pages get it."""
        response = httpx.get(
            f"{self.ledger.url}/v1/banner/{self.site['key']}/config",
            headers={"Origin": self.url}, timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def text(self, key: str, language: str = "en") -> str:
        """What the banner says for `key` (a button's name, a label)."""
        return str(self.config()["texts"][language][key])

    def page_url(self, path: str = "/", site: dict[str, Any] | None = None) -> str:
        return f"{self.url}{path}?site={(site or self.site)['key']}"

    def as_officer(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.ledger.api(method, path, self.ledger.token("officer", "olga"), body)

    def consent(self, receipt_id: str, position: int, purpose: str) -> dict[str, Any]:
        """What the ledger tells the shop's backend about the visitor of this receipt (the
        receipt id is "<visitor's subject id>:<version>"), once it has read `position`."""
        visitor = receipt_id.split(":")[0]
        response = self.ledger.api(
            "GET", f"/v1/subjects/{visitor}/consents/{purpose}?min_position={position}",
            self.ledger.token("system", "shop-backend"),
        )
        assert response.status_code == 200, response.text
        return response.json()

    def recorded(self, receipt_id: str, position: int, purpose: str) -> tuple[Any, ...]:
        """(allowed, status, method, notice_version) of the visitor's consent to `purpose`."""
        answer = self.consent(receipt_id, position, purpose)
        return answer["allowed"], answer["status"], answer["method"], answer["notice_version"]


def open_shop_page(
    context: Any, shop: Shop, path: str = "/", site: dict[str, Any] | None = None
) -> Any:
    """A page of the shop in this browser context, once the banner shows on it."""
    page = context.new_page()
    page.goto(shop.page_url(path, site))
    page.locator(BANNER).wait_for(state="visible")
    return page


def choose(page: Any, act: Callable[[], None]) -> tuple[str, int, dict[str, Any]]:
    """Do `act` (a click or a key) and wait for the ledger's 201 to the choice it sends, and for
    the receipt to reach the page: (receipt id, position, the whole answer)."""
    with page.expect_response(
        lambda r: r.url.endswith("/choices") and r.request.method == "POST"
    ) as answered:
        act()
    response = answered.value
    assert response.status == 201, response.text()
    answer = response.json()
    page.wait_for_function(
        "id => document.querySelector('#ledger-banner').dataset.receipt === id",
        arg=answer["receipt_id"],
    )
    return answer["receipt_id"], answer["position"], answer


def consent_events(page: Any) -> list[dict[str, Any]]:
    """The `ledger:consent` events the shop's page heard, in order."""
    return list(page.evaluate("window.shopConsentEvents"))


def tab_to(page: Any, name: str, tries: int = 12) -> None:
    """Tab (no mouse) until the banner's control named `name` has the focus."""
    for _ in range(tries):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => document.activeElement.closest('#ledger-banner') ? "
            "(document.activeElement.labels && document.activeElement.labels[0] || "
            "document.activeElement).textContent.trim() : null"
        )
        if focused == name:
            return
    raise AssertionError(f"Tab never reached {name!r} in the banner")


def register(ledger: LiveServer, origin: str, name: str) -> dict[str, Any]:
    """The site, registered by an officer with the shop's origin, as docs/privacy-center.md says."""
    response = ledger.api(
        "POST", "/v1/sites", ledger.token("officer", "olga"),
        {"name": name, "origins": [origin], "notice_version": NOTICE_VERSION},
    )
    assert response.status_code == 201, response.text
    return response.json()


def serve_shop(ledger_url: str, port: int) -> ThreadingHTTPServer:
    """The shop's pages: `/` in English, `/nl/` in Dutch (`<html lang="nl">`), each embedding
    the banner of the site named by `?site=<key>`."""

    class ShopPages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            asked = urlsplit(self.path)
            if asked.path not in ("/", "/nl/"):
                self.send_error(404)
                return
            key = parse_qs(asked.query).get("site", [""])[0]
            dutch = asked.path == "/nl/"
            page = _WORDS.sub(lambda words: words.group(2 if dutch else 1), SHOP_PAGE)
            page = page.replace("{lang}", "nl" if dutch else "en")
            body = page.replace("{ledger}", ledger_url).replace("{site_key}", key).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass  # the tests' output is their assertions, not an access log

    server = ThreadingHTTPServer(("127.0.0.1", port), ShopPages)
    threading.Thread(target=server.serve_forever, name="shop-pages", daemon=True).start()
    return server

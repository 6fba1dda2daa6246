"""Secrets and personal data stay out of log lines and out of reach of other users.

The journeys run with every logger at DEBUG (root, uvicorn, eventsourcing, psycopg, httpx,
the ledger's own), every record captured as a handler would write it, as well as everything
written to the process's stdout and stderr, and no line may hold a
name, email, phone number, bearer token, login link, unsubscribe token, master key, token
secret or signing key. Key files and the SQLite store are private to their owner; the portal
and every other answer refuse to be framed.
"""

from __future__ import annotations

import base64
import logging
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api import keyfiles
from api.app import create_app
from api.http.auth import mint_token
from api.json_logs import JsonFormatter
from api.logging_setup import REDACTED, redact
from api.portal.login_links import mint_login_link
from api.settings import Settings
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.conftest import Api, User, api  # noqa: F401  (the fixture)
from tests.reliability.test_input_beyond_the_schema import served

LOGGERS = ("", "uvicorn", "uvicorn.access", "uvicorn.error", "eventsourcing", "psycopg",
           "psycopg.pool", "httpx", "httpcore", "httpx2", "httpcore2", "ledger", "ledger.api", "fastapi", "starlette")

NAME = "Annelies Weißgerber-Öztürk"
NEW_NAME = "Annelies van Dijk-Öztürk"
EMAIL = "annelies.weissgerber@example.org"
NEW_EMAIL = "a.vandijk@example.net"
PHONE = "+31612345678"
TENANT_NAME = "Bakkerij Jansen-Öztürk"
REASON = "Invoice of Pieter Bakker looks wrong"


class Capture(logging.Handler):
    """Every record, formatted with its exception text, as a log file would hold it: as text,
    and as the JSON line of LEDGER_LOG_FORMAT=json (which adds the request id, the route or
    path, and the other fields of an access line)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.json = JsonFormatter()
        self.lines: list[str] = []
        self.json_lines: list[str] = []
        self.names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.json_lines.append(self.json.format(record))
        self.names.add(record.name)


@pytest.fixture
def debug_logs() -> Iterator[Capture]:
    capture = Capture()
    saved = {name: (logging.getLogger(name).level, logging.getLogger(name).propagate)
             for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
        logging.getLogger(name).propagate = True
    root = logging.getLogger()
    root.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        for name, (level, propagate) in saved.items():
            logging.getLogger(name).setLevel(level)
            logging.getLogger(name).propagate = propagate


@dataclass
class Secrets:
    """Everything that must never be in a log line."""

    values: set[str] = field(default_factory=set)

    def add(self, *values: str) -> None:
        self.values.update(v for v in values if v)

    def of_settings(self, settings: Settings) -> None:
        for kek in (settings.data_dir / "keys").glob("*.kek"):
            raw = base64.b64decode(kek.read_text())
            self.add(kek.read_text().strip(), raw.hex())
        self.add(keyfiles.auth_secret(settings))
        pem = (settings.data_dir / keyfiles.SIGNING_KEY_FILE).read_text()
        self.add(*[line for line in pem.splitlines() if not line.startswith("-----")])

    def found_in(self, lines: list[str]) -> list[str]:
        return [f"{secret!r} in {line!r}" for line in lines for secret in self.values
                if secret in line or secret.lower() in line.lower()]


def _user(api: Api, secrets: Secrets, role: str, actor: str, tenant: object = None) -> User:
    token = api.token(role, actor, tenant)
    secrets.add(token)
    return User(api.client, {"Authorization": f"Bearer {token}"})


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def test_the_journeys_at_debug_log_no_personal_data_and_no_secret(
    api: Api, debug_logs: Capture, capfd: pytest.CaptureFixture[str]
) -> None:
    secrets = Secrets()
    secrets.of_settings(api.settings)
    secrets.add(NAME, NEW_NAME, EMAIL, NEW_EMAIL, PHONE, PHONE.replace(" ", ""), TENANT_NAME,
                "Pieter Bakker")
    officer = _user(api, secrets, "officer", "olga")
    staff = _user(api, secrets, "staff", "sam")
    system = _user(api, secrets, "system", "crm")

    # The newcomer's journey of docs/api.md
    tenant = ok(officer.post("/v1/tenants", json={"name": TENANT_NAME}), 201)["id"]
    customer = _user(api, secrets, "customer", "alice", tenant)
    request = ok(staff.post(f"/v1/tenants/{tenant}/access-requests", json={
        "scope": "read", "resources": ["orders"], "reason": REASON, "ticket": "SUP-1234",
        "duration_minutes": 60}), 201)["id"]
    ok(customer.post(f"/v1/access-requests/{request}/approve", json={"duration_minutes": 30}))
    looked = ok(staff.post(f"/v1/access-requests/{request}/accesses",
                           json={"resource": "orders/17", "action": "read"}), 201)
    ok(customer.get(f"/v1/tenants/{tenant}/access-log", params={"min_position": looked["position"]}))
    assert customer.get(f"/v1/tenants/{tenant}/access-log", params={"format": "csv"}).status_code == 200

    # A person: registered, consenting, corrected, unsubscribing by link, exported, erased
    subject = ok(system.post("/v1/subjects", json={
        "tenant_id": tenant, "name": NAME, "email": EMAIL, "phone": PHONE}), 201)["id"]
    given = ok(system.put(f"/v1/subjects/{subject}/consents/info_mail", json={
        "status": "given", "channel": "email", "notice_version": "2026-01",
        "method": "web_form"}))
    ok(system.get(f"/v1/subjects/{subject}/consents/info_mail",
                  params={"min_position": given["position"]}))
    fixed = ok(officer.patch(f"/v1/subjects/{subject}", json={"name": NEW_NAME, "email": NEW_EMAIL}))
    ok(officer.get(f"/v1/subjects/{subject}", params={"min_position": fixed["position"], "reason": "check"}))
    link = ok(system.post(f"/v1/subjects/{subject}/unsubscribe-links",
                          json={"purpose": "info_mail", "channel": "email"}), 201)["url"]
    token_path = link[len(api.settings.public_url.rstrip("/")):]
    secrets.add(token_path.rsplit("/", 1)[1])
    assert api.client.get(token_path).status_code == 200
    assert api.client.post(token_path).status_code == 200
    for fmt in ("json", "csv", "xlsx"):
        assert officer.get(f"/v1/subjects/{subject}/export", params={"format": fmt, "reason": "check"}).status_code == 200
    ok(officer.get(f"/v1/subjects/{subject}/history", params={"reason": "check"}))
    erasure = ok(officer.post(f"/v1/subjects/{subject}/requests",
                              json={"kind": "erasure", "channel": "email"}), 201)["id"]
    ok(officer.post(f"/v1/requests/{erasure}/verify-identity", json={"method": "passport"}))
    ok(officer.post(f"/v1/requests/{erasure}/fulfil"))

    # The portal, entered through a login link (a sealed token in the query string)
    login_link = mint_login_link(api.settings, api.token("customer", "alice", tenant))
    secrets.add(login_link.split("link=", 1)[1])
    assert api.client.get(login_link[len(api.settings.public_url):]).status_code == 200

    # Refusals: a bad token, an expired one, a body naming a person that is refused
    for token in ("not-a-token", api.token("officer", "olga", ttl=-60)):
        secrets.add(token)
        api.client.get("/v1/tenants", headers={"Authorization": f"Bearer {token}"})
    system.post("/v1/subjects", json={"name": NAME, "email": "not an email " + EMAIL})

    # A failure deep inside whose message quotes an email: logged, but scrubbed
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"could not store {EMAIL}")

    api.app.state.stores.ledger.register_subject = failing
    failed = TestClient(api.app, raise_server_exceptions=False).post(
        "/v1/subjects", json={"name": NAME, "email": EMAIL}, headers=system.headers)
    assert failed.status_code == 500

    # The HTTP client's own debug log is among them (TestClient's: httpx2 where installed).
    assert len(debug_logs.lines) > 20 and {"httpx", "httpx2"} & debug_logs.names, debug_logs.names
    assert any("could not store" in line for line in debug_logs.lines)  # the 500 was logged
    leaks = secrets.found_in(debug_logs.lines + debug_logs.json_lines)
    assert leaks == [], "\n".join(leaks[:20])
    assert any('"logger": "ledger.access"' in line for line in debug_logs.json_lines)
    # And whatever reached the process's stdout and stderr by any other way (a print, a
    # handler of a library's own, a warning): capfd reads the file descriptors themselves.
    written = capfd.readouterr()
    leaks = secrets.found_in((written.out + written.err).splitlines())
    assert leaks == [], "\n".join(leaks[:20])


def test_uvicorn_access_lines_hide_tokens_in_paths_and_query_strings(
    tmp_path: Path, clock: MovableClock, debug_logs: Capture
) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var")
    app = create_app(settings, clock=clock)
    bearer = mint_token(settings, "officer", "olga")
    customer = mint_token(settings, "customer", "alice", tenant="3f2b8c1e-6a1d-4c1a-9f7e-2d6b1c0a9e55")
    link = mint_login_link(settings, customer)
    sealed = link.split("link=", 1)[1]
    with served(app) as url:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {bearer}"}) as client:
            client.get("/v1/unsubscribe/c2VjcmV0LXRva2VuLXZhbHVl")
            client.get("/portal/login", params={"link": sealed})
            client.get("/v1/tenants", params={"limit": 5, "token": bearer, "email": EMAIL})

    access = [line for line in debug_logs.lines if line.startswith("INFO uvicorn.access")]
    assert len(access) == 3, debug_logs.lines
    assert "/v1/unsubscribe/[redacted]" in access[0]
    assert f"link={REDACTED}" in access[1]
    assert "limit=5" in access[2] and f"token={REDACTED}" in access[2]
    assert f"email={REDACTED}" in access[2]
    joined = "\n".join(debug_logs.lines + debug_logs.json_lines)
    json_access = [line for line in debug_logs.json_lines if '"logger": "ledger.access"' in line]
    assert len(json_access) == 3, debug_logs.json_lines
    for secret in ("c2VjcmV0LXRva2VuLXZhbHVl", sealed, bearer, customer, EMAIL):
        assert secret not in joined


@pytest.mark.parametrize("text", [
    f"Authorization: Bearer {'eyJhbGciOiJIUzI1NiJ9'}.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
    f"headers=[(b'authorization', b'Bearer abc.def-ghi'), (b'cookie', b'ledger_portal=s3cr3t')]",
    f"mail to {EMAIL} or call {PHONE}",
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----",
    "GET /portal/login?link=AAAABBBBCCCC&limit=10",
])
def test_the_log_filter_scrubs_credentials_and_contact_details_of_any_shape(text: str) -> None:
    scrubbed = redact(text)
    assert REDACTED in scrubbed
    for secret in ("eyJzdWIiOiJ4In0", "abc.def-ghi", "s3cr3t", EMAIL, PHONE, "MC4CAQAw",
                   "AAAABBBBCCCC"):
        assert secret not in scrubbed
    if "limit=10" in text:
        assert "limit=10" in scrubbed  # paging stays readable


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_files_the_data_dir_and_the_sqlite_store_are_the_owners_alone(
    tmp_path: Path, clock: MovableClock
) -> None:
    data_dir = tmp_path / "var"
    settings = make_settings(f"sqlite:///{data_dir}/ledger.sqlite", data_dir)
    with TestClient(create_app(settings, clock=clock)) as client:
        officer = {"Authorization": f"Bearer {mint_token(settings, 'officer', 'olga')}"}
        assert client.post("/v1/tenants", json={"name": "Acme"}, headers=officer).status_code == 201
        assert _mode(data_dir) == 0o700
        for name in (keyfiles.AUTH_SECRET_FILE, keyfiles.SIGNING_KEY_FILE, "keys/epoch-00000001.kek"):
            assert _mode(data_dir / name) == 0o600, name
        assert _mode(data_dir / "keys") == 0o700
        store = [p for p in data_dir.iterdir() if p.name.startswith("ledger.sqlite")]
        assert store, "no SQLite files"
        for path in store:
            assert _mode(path) == 0o600, path.name


def test_an_existing_data_dir_open_to_others_is_closed_at_start(
    tmp_path: Path, clock: MovableClock
) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    create_app(make_settings("memory://", data_dir), clock=clock)
    assert _mode(data_dir) == 0o700


POLICY_PARTS = ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'",
                "base-uri 'none'", "form-action 'self'")


def _strict(response: httpx.Response) -> None:
    policy = response.headers.get("content-security-policy", "")
    assert all(part in policy for part in POLICY_PARTS), (response.url, policy)
    script = re.search(r"script-src ([^;]*)", policy)
    assert script and "'nonce-" in script.group(1), policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "*" not in policy
    assert response.headers["x-frame-options"] == "DENY"


def test_every_portal_page_sends_a_strict_policy_and_refuses_framing(
    tmp_path: Path, clock: MovableClock
) -> None:
    settings = make_settings("memory://", tmp_path / "var", poll_interval_ms=5)
    with TestClient(create_app(settings, clock=clock)) as client:
        officer = {"Authorization": f"Bearer {mint_token(settings, 'officer', 'olga')}"}
        tenant = client.post("/v1/tenants", json={"name": "Acme"}, headers=officer).json()["id"]
        login = client.get("/portal/login")
        _strict(login)
        csrf = re.search(r'name="csrf_token" value="([^"]*)"', login.text)
        assert csrf
        token = mint_token(settings, "customer", "alice", tenant=tenant)
        logged_in = client.post("/portal/login", data={"token": token, "csrf_token": csrf.group(1)},
                                follow_redirects=False)
        assert logged_in.status_code == 303
        _strict(logged_in)
        for path in ("/portal", "/portal/log", "/portal/incidents", "/portal/log.csv",
                     "/portal/log?since=not-a-date", "/portal/login?link=forged"):
            _strict(client.get(path))
        _strict(client.post("/portal/requests/00000000-0000-4000-8000-000000000000/approve"))


def test_no_answer_of_the_api_may_be_framed(tmp_path: Path, clock: MovableClock) -> None:
    settings = make_settings("memory://", tmp_path / "var")
    with TestClient(create_app(settings, clock=clock)) as client:
        for response in (client.get("/healthz"), client.get("/v1/tenants"),
                         client.get("/portal/no-such-page"), client.get("/docs"),
                         client.post("/v1/tenants", content=b"[" * 100)):
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            assert response.headers["x-frame-options"] == "DENY"

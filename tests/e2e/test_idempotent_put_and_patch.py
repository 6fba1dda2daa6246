"""`Idempotency-Key` on PUT and PATCH, as on POST: a retried consent decision or rectification
records one event, however often and however concurrently it arrives.

Each PUT or PATCH records an event (the ledger keeps every decision), so without the key a
retry would be a second event: the first test shows that, so the others prove something.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.conftest import Api, created, fields_named, open_api

GIVE = {"status": "given", "channel": "email", "notice_version": "2026-01", "method": "web_form"}
RENAME = {"name": "Jan de Vries"}


@pytest.fixture
def durable_api(durable_database_url: str, tmp_path: Path, clock: MovableClock) -> Iterator[Api]:
    """The app on SQLite and on PostgreSQL: the stores where two requests really race."""
    yield from open_api(make_settings(durable_database_url, tmp_path / "var"), clock)


def _subject(api: Api) -> str:
    body = {"name": "Jan Jansen", "email": "jan@example.org"}
    return created(api.user("officer", "olga").post("/v1/subjects", json=body))["id"]


def _write(api: Api, method: str, path: str, body: Any, key: str | None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return api.user("officer", "olga").request(method, path, json=body, headers=headers)


def _writes(subject: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("PUT", f"/v1/subjects/{subject}/consents/info_mail", GIVE),
        ("PATCH", f"/v1/subjects/{subject}", RENAME),
    ]


def test_without_a_key_the_same_put_or_patch_sent_twice_records_two_events(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    for method, path, body in _writes(_subject(api)):
        before = api.events()
        _write(api, method, path, body, None)
        _write(api, method, path, body, None)
        assert api.events() == before + 2, method


def test_the_same_put_or_patch_sent_twice_with_one_key_gives_the_first_answer_and_one_event(
    durable_api: Api,
) -> None:
    api = durable_api
    for method, path, body in _writes(_subject(api)):
        before = api.events()
        first = _write(api, method, path, body, f"once-{method}")
        again = _write(api, method, path, body, f"once-{method}")

        assert first.status_code == 200, first.text
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        assert again.headers["idempotent-replayed"] == "true"
        assert api.events() == before + 1, method


def test_twenty_identical_puts_or_patches_at_once_with_one_key_record_exactly_one_event(
    durable_api: Api,
) -> None:
    api = durable_api
    token = api.token("officer", "olga")
    for method, path, body in _writes(_subject(api)):
        before = api.events()

        def send(_: int) -> httpx.Response:
            return api.client.request(
                method, path, json=body,
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"burst-{method}"},
            )

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(send, range(20)))

        assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
        assert len({a.json()["position"] for a in answers}) == 1
        assert api.events() == before + 1, method


def test_the_same_key_with_another_put_or_patch_body_is_422_and_records_nothing(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    subject = _subject(api)
    for method, path, body in _writes(subject):
        _write(api, method, path, body, f"reused-{method}")
        events = api.events()
        other = {**body, "notice_version": "2026-02"} if method == "PUT" else {"name": "Piet"}

        response = _write(api, method, path, other, f"reused-{method}")

        assert fields_named(response) == {"Idempotency-Key"}
        assert api.events() == events


def test_the_api_documentation_offers_the_key_on_every_write(sqlite_api: Api) -> None:
    schema = sqlite_api.anonymous().get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method in ("post", "put", "patch"):
            if method in operations:
                names = {p["name"] for p in operations[method].get("parameters", [])}
                assert "Idempotency-Key" in names, (method, path)
    assert "put" in schema["paths"]["/v1/subjects/{subject_id}/consents/{purpose}"]
    assert "patch" in schema["paths"]["/v1/subjects/{subject_id}"]

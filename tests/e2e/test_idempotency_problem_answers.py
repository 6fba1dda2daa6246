"""What a client reads when an `Idempotency-Key` is refused, or when the request it guards is:
a whole problem answer (RFC 9457) like every other error of the API, naming the header, the
reason and the path it answers for (`instance`), first and replayed alike. Found by
`make mutate`: the answers could lose their `instance`, the header's location or the reason's
wording with every test green."""

from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.conftest import Api, problem

TENANT = {"name": "Acme B.V."}
KEY_DETAIL = "must be 1 to 255 printable characters"
REUSED_DETAIL = "was already used with another body or route; use a new key"


def _post(api: Api, path: str, body: Any, key: str) -> Any:
    return api.user("officer", "olga").post(path, json=body, headers={"Idempotency-Key": key})


def test_a_key_that_is_not_printable_is_a_422_naming_the_header_and_the_path(
    sqlite_api: Api
) -> None:
    body = problem(_post(sqlite_api, "/v1/tenants", TENANT, "tab\there"), 422)

    assert body["detail"] == f"Idempotency-Key: {KEY_DETAIL}"
    assert body["errors"] == [
        {"field": "Idempotency-Key", "location": "header", "detail": KEY_DETAIL}
    ]
    assert body["instance"] == "/v1/tenants"


def test_a_key_used_again_with_another_body_is_a_422_saying_why_and_where(
    sqlite_api: Api
) -> None:
    api = sqlite_api
    assert _post(api, "/v1/tenants", TENANT, "key-1").status_code == 201
    events = api.events()

    body = problem(_post(api, "/v1/tenants", {"name": "Other B.V."}, "key-1"), 422)

    assert body["detail"] == f"Idempotency-Key: {REUSED_DETAIL}"
    assert body["errors"] == [
        {"field": "Idempotency-Key", "location": "header", "detail": REUSED_DETAIL}
    ]
    assert body["instance"] == "/v1/tenants"
    assert api.events() == events


def test_a_refusal_under_a_key_is_the_same_whole_problem_as_without_one_and_when_replayed(
    sqlite_api: Api
) -> None:
    api = sqlite_api
    path = f"/v1/tenants/{uuid.uuid4()}/reactivate"  # no such tenant: 404
    plain = problem(api.user("officer", "olga").post(path), 404)

    first = _post(api, path, None, "key-2")
    again = _post(api, path, None, "key-2")

    assert problem(first, 404) == plain
    assert plain["instance"] == path
    assert problem(again, 404) == plain
    assert again.headers["idempotent-replayed"] == "true"


def test_a_key_of_the_longest_allowed_length_is_taken(sqlite_api: Api) -> None:
    api = sqlite_api
    first = _post(api, "/v1/tenants", TENANT, "k" * 255)
    again = _post(api, "/v1/tenants", TENANT, "k" * 255)
    assert (first.status_code, again.status_code) == (201, 201), first.text
    assert again.headers["idempotent-replayed"] == "true"


def test_a_read_sent_with_a_key_is_answered_fresh_every_time(sqlite_api: Api) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    tenant = _post(api, "/v1/tenants", TENANT, "key-3").json()
    api.caught_up(tenant["position"])
    path, key = f"/v1/tenants/{tenant['id']}", {"Idempotency-Key": "read-1"}
    before = officer.get(path, headers=key)
    moved = officer.post(f"{path}/location", json={"location": "IE"})
    assert moved.status_code == 200, moved.text
    api.caught_up(moved.json()["position"])

    after = officer.get(path, headers=key)

    assert (before.json()["location"], after.json()["location"]) == ("NL", "IE")
    assert "idempotent-replayed" not in after.headers

"""`Idempotency-Key`: a retried POST gets the first answer and records nothing new."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.e2e.conftest import Api, fields_named, problem

TENANT = {"name": "Acme B.V."}


def post(api: Api, path: str, body: Any, key: str, role: str = "officer", actor: str = "olga",
         tenant: object = None) -> Any:
    return api.user(role, actor, tenant).post(path, json=body, headers={"Idempotency-Key": key})


def test_the_same_post_sent_twice_gives_the_first_answer_and_one_event(api: Api) -> None:
    first = post(api, "/v1/tenants", TENANT, "key-1")
    events = api.events()
    again = post(api, "/v1/tenants", TENANT, "key-1")

    assert (again.status_code, again.json()) == (first.status_code, first.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert api.events() == events


def test_twenty_identical_posts_at_once_record_exactly_one_event(api: Api) -> None:
    before = api.events()
    token = api.token("officer", "olga")

    def send(_: int) -> Any:
        return api.client.post(
            "/v1/tenants", json=TENANT,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "burst"},
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(send, range(20)))

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert api.events() == before + 1


def test_the_same_key_with_another_body_is_422_and_records_nothing(sqlite_api: Api) -> None:
    api = sqlite_api
    post(api, "/v1/tenants", TENANT, "key-2")
    events = api.events()

    response = post(api, "/v1/tenants", {"name": "Other B.V."}, "key-2")

    assert fields_named(response) == {"Idempotency-Key"}
    assert api.events() == events


def test_the_same_key_on_another_route_is_422(sqlite_api: Api) -> None:
    api = sqlite_api
    tenant = post(api, "/v1/tenants", TENANT, "key-3").json()["id"]
    response = post(api, f"/v1/tenants/{tenant}/terminate", None, "key-3")
    assert fields_named(response) == {"Idempotency-Key"}


def test_two_people_may_use_the_same_key_without_meeting(sqlite_api: Api) -> None:
    api = sqlite_api
    first = post(api, "/v1/tenants", TENANT, "shared", actor="olga")
    second = post(api, "/v1/tenants", TENANT, "shared", actor="oscar")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


def test_a_refusal_replayed_is_the_same_refusal_and_not_a_second_logged_one(sqlite_api: Api) -> None:
    api = sqlite_api
    tenant = post(api, "/v1/tenants", TENANT, "t").json()["id"]
    request = post(api, f"/v1/tenants/{tenant}/access-requests",
                   {"scope": "read", "resources": ["orders"], "reason": "ticket"}, "r",
                   role="staff", actor="sam").json()["id"]
    body = {"resource": "orders", "action": "read"}  # not approved: refused, and logged

    first = problem(post(api, f"/v1/access-requests/{request}/accesses", body, "a",
                         role="staff", actor="sam"), 403)
    events = api.events()
    again = problem(post(api, f"/v1/access-requests/{request}/accesses", body, "a",
                         role="staff", actor="sam"), 403)

    assert again == first
    assert api.events() == events


def test_a_key_is_forgotten_after_24_hours(sqlite_api: Api) -> None:
    api = sqlite_api
    first = post(api, "/v1/tenants", TENANT, "daily")
    api.clock.move(hours=23)
    assert post(api, "/v1/tenants", TENANT, "daily").json() == first.json()
    api.clock.move(hours=2)
    later = post(api, "/v1/tenants", TENANT, "daily")
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]


def test_a_key_that_is_too_long_is_422_naming_the_header(sqlite_api: Api) -> None:
    response = post(sqlite_api, "/v1/tenants", TENANT, "k" * 256)
    assert fields_named(response) == {"Idempotency-Key"}


def test_without_a_token_the_key_changes_nothing_and_the_answer_is_401(sqlite_api: Api) -> None:
    response = sqlite_api.client.post("/v1/tenants", json=TENANT, headers={"Idempotency-Key": "x"})
    problem(response, 401)


def test_keys_older_than_a_day_are_deleted_from_the_store(sqlite_api: Api) -> None:
    api = sqlite_api
    post(api, "/v1/tenants", TENANT, "old")
    api.clock.move(hours=25)
    post(api, "/v1/tenants", TENANT, "new")

    assert api.app.state.idempotency.forget_expired() == 1
    kept = api.app.state.stores.db.fetchall("SELECT key FROM idempotency_keys")
    assert kept == [("new",)]


def test_a_kept_request_fingerprint_cannot_confirm_a_guessed_body(sqlite_api: Api) -> None:
    """A body names people: a plain hash of it, kept in a copy of the store, would confirm a
    guessed name or e-mail long after the person is erased. The fingerprint is keyed."""
    import hashlib
    import json

    api = sqlite_api
    body = {"name": "Zoë Janssen", "email": "zoe@example.org"}
    made = post(api, "/v1/subjects", body, "key-person", role="system", actor="crm")
    assert made.status_code == 201, made.text
    [(stored,)] = api.app.state.stores.db.fetchall(
        "SELECT body_sha256 FROM idempotency_keys WHERE key = %s", ("key-person",)
    )
    sent = json.dumps(body).encode()
    guesses = [
        hashlib.sha256(b"POST /v1/subjects?\n" + raw).hexdigest()
        for raw in (sent, json.dumps(body, separators=(",", ":")).encode(),
                    json.dumps(body, ensure_ascii=False).encode(),
                    json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    ]
    assert stored not in guesses and len(stored) == 64
    # The same request still replays: the key is the store's, stable across restarts.
    assert post(api, "/v1/subjects", body, "key-person", role="system",
                actor="crm").headers["idempotent-replayed"] == "true"

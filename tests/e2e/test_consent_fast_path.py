"""The consent routes answer the common request on a fast path (api/http/fast_path.py) and
leave everything else to the route as FastAPI declares it. Which path answers must not show:
the same question gets the same bytes, and whatever the fast path declines is still answered,
or refused by name, as on every route. On every store."""

from __future__ import annotations

import json

from tests.e2e.conftest import Api, User, created, fields_named, ok

GIVE = {"status": "given", "notice_version": "2026-01", "method": "web_form", "channel": "email"}
# Declined by the fast path (it takes only `application/json` exactly), read by FastAPI.
FULL_PATH_BODY = {"Content-Type": "application/json; charset=utf-8"}


def _subject(api: Api) -> str:
    return created(api.user("system", "crm").post(
        "/v1/subjects", json={"name": "Zoë", "email": "zoe@example.org"}))["id"]


def _both(user: User, path: str, **params: str) -> tuple[bytes, bytes]:
    """The check answered by the fast path, and by the full one (`min_position` is only the
    full path's: it waits for the read side)."""
    fast = user.get(path, params=params)
    full = user.get(path, params={**params, "min_position": "0"})
    assert fast.status_code == full.status_code == 200, (fast.text, full.text)
    assert fast.headers["content-type"] == full.headers["content-type"]
    return fast.content, full.content


def test_a_consent_check_answers_the_same_bytes_on_either_path(api: Api) -> None:
    system = api.user("system", "crm")
    path = f"/v1/subjects/{_subject(api)}/consents/info_mail"
    ok(system.put(path, json=GIVE))
    ok(system.put(path, json={"status": "withdrawn", "method": "sms", "channel": "sms"}))
    for params in ({}, {"channel": "email"}, {"channel": "sms"}):
        fast, full = _both(system, path, **params)
        assert fast == full
    everywhere, _ = _both(system, path)
    assert json.loads(everywhere)["channels"]["email"]["allowed"] is True


def test_a_consent_decision_answers_alike_on_either_path(api: Api) -> None:
    system = api.user("system", "crm")
    subject = _subject(api)
    path = f"/v1/subjects/{subject}/consents/info_mail"
    fast = system.put(path, json=GIVE)
    full = system.put(path, content=json.dumps(GIVE), headers=FULL_PATH_BODY)
    assert fast.status_code == full.status_code == 200
    first, second = fast.json(), full.json()
    assert second["position"] > first["position"]
    assert {**first, "position": 0} == {**second, "position": 0} == {
        "subject_id": subject, "purpose": "info_mail", "status": "given", "position": 0}
    assert list(first) == list(second)


def test_what_the_fast_path_declines_is_answered_or_refused_by_name(api: Api) -> None:
    system, staff = api.user("system", "crm"), api.user("staff", "sam")
    subject = _subject(api)
    path = f"/v1/subjects/{subject}/consents/info_mail"
    ok(system.put(path, json=GIVE))
    # An id spelled in capitals is the same subject to FastAPI.
    assert ok(system.get(path.replace(subject, subject.upper())))["subject_id"] == subject
    assert system.get(path, headers={"Authorization": "Bearer forged"}).status_code == 401
    assert api.anonymous().get(path).status_code == 401
    assert staff.get(path).status_code == 403
    assert staff.put(path, json=GIVE).status_code == 403
    assert fields_named(system.get(f"/v1/subjects/{subject}/consents/carrier_pigeons")) == {
        "purpose"}
    assert fields_named(system.get(path, params={"chanel": "email"})) == {"chanel"}
    assert fields_named(system.put(path, json={**GIVE, "status": "maybe"})) == {"status"}
    broken = system.put(path, content=b'{"status": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 422
    assert system.get(f"/v1/subjects/{'0' * 8}-0000-4000-8000-{'0' * 12}/consents/info_mail"
                      ).status_code == 404


def test_an_idempotent_decision_is_left_to_the_full_path_and_recorded_once(api: Api) -> None:
    system = api.user("system", "crm")
    path = f"/v1/subjects/{_subject(api)}/consents/info_mail"
    key = {"Idempotency-Key": "fast-path-1"}
    first = ok(system.put(path, json=GIVE, headers=key))
    again = ok(system.put(path, json=GIVE, headers=key))
    assert again == first

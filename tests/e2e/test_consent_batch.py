"""`POST /v1/consents:batch`: up to 1,000 decisions, each answered on its own, idempotent."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.e2e.conftest import Api, fields_named

GIVE = {"status": "given", "notice_version": "2026-01", "method": "import", "channel": "email"}
WITHDRAW = {"status": "withdrawn", "method": "import"}


def _subjects(api: Api, count: int) -> list[str]:
    return [
        str(api.ledger.register_subject("Jan", f"jan{n}@example.org", "crm").aggregate.id)
        for n in range(count)
    ]


def _batch(api: Api, decisions: list[dict[str, Any]], **headers: str) -> Any:
    return api.user("system", "crm").post(
        "/v1/consents:batch", json={"decisions": decisions}, headers=headers
    )


def test_every_decision_is_recorded_and_answered_with_its_own_position(api: Api) -> None:
    subjects = _subjects(api, 5)
    decisions = [{"subject_id": s, "purpose": "info_mail", **GIVE} for s in subjects]

    response = _batch(api, decisions)

    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["index"] for item in body["items"]] == list(range(5))
    assert {item["status"] for item in body["items"]} == {200}
    positions = [item["position"] for item in body["items"]]
    assert len(set(positions)) == 5 and body["position"] == max(positions)
    for subject in subjects:
        answer = api.user("system", "crm").get(
            f"/v1/subjects/{subject}/consents/info_mail",
            params={"min_position": body["position"], "channel": "email"},
        )
        assert answer.json()["allowed"] is True


def test_bad_decisions_are_answered_alone_and_the_others_still_count(api: Api) -> None:
    good, erased = _subjects(api, 2)
    api.ledger.erase_subject(UUID(erased), "officer")
    decisions = [
        {"subject_id": good, "purpose": "info_mail", **GIVE},
        {"subject_id": good, "purpose": "no_such_purpose", **GIVE},
        {"subject_id": "9d4c2b7a-1e3f-4a5b-8c6d-7e8f9a0b1c2d", "purpose": "info_mail", **GIVE},
        {"subject_id": erased, "purpose": "info_mail", **GIVE},
        {"subject_id": good, "purpose": "profiling", "status": "given", "method": "import"},
        {"subject_id": good, "purpose": "blog_mail", **GIVE},
    ]

    items = _batch(api, decisions).json()["items"]

    assert [item["status"] for item in items] == [200, 422, 404, 409, 422, 200]
    assert items[1]["field"] == "purpose" and items[4]["field"] == "notice_version"
    assert all("error" in item and item["error"] for item in items if item["status"] != 200)
    subject = api.ledger.subject(UUID(good))
    assert subject.is_allowed("info_mail", "email") and subject.is_allowed("blog_mail", "email")
    assert not subject.is_allowed("profiling", "email")


def test_a_subjects_decisions_apply_in_the_order_given(sqlite_api: Api) -> None:
    api = sqlite_api
    subjects = _subjects(api, 3)
    decisions = []
    for subject in subjects:
        decisions += [
            {"subject_id": subject, "purpose": "info_mail", **GIVE},
            {"subject_id": subject, "purpose": "info_mail", **WITHDRAW},
        ]

    items = _batch(api, decisions).json()["items"]

    assert {item["status"] for item in items} == {200}
    for number, subject in enumerate(subjects):
        assert items[2 * number]["position"] < items[2 * number + 1]["position"]
        assert not api.ledger.subject(UUID(subject)).is_allowed("info_mail")


def test_the_same_batch_sent_again_with_its_key_records_nothing_new(sqlite_api: Api) -> None:
    api = sqlite_api
    subjects = _subjects(api, 3)
    decisions = [{"subject_id": s, "purpose": "info_mail", **GIVE} for s in subjects]
    first = _batch(api, decisions, **{"Idempotency-Key": "import-7"})
    events = api.events()

    again = _batch(api, decisions, **{"Idempotency-Key": "import-7"})

    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert api.events() == events


def test_a_thousand_decisions_are_taken_and_one_more_is_refused(sqlite_api: Api) -> None:
    api = sqlite_api
    subjects = _subjects(api, 50)
    decisions = [
        {"subject_id": subjects[n % 50], "purpose": "info_mail", **(GIVE if n % 2 else WITHDRAW)}
        for n in range(1000)
    ]
    events = api.events()

    taken = _batch(api, decisions)
    refused = _batch(api, decisions + decisions[:1])

    assert taken.status_code == 200 and len(taken.json()["items"]) == 1000
    assert api.events() == events + 1000
    assert "decisions" in fields_named(refused)


def test_an_empty_or_malformed_batch_is_a_422_naming_the_field(sqlite_api: Api) -> None:
    assert "decisions" in fields_named(_batch(sqlite_api, []))
    response = sqlite_api.user("system", "crm").post(
        "/v1/consents:batch", json={"decisions": [], "extra": 1}
    )
    assert response.status_code == 422

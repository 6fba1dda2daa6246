"""The subject profiles read model, handler by handler, in memory: a profile, its consent per
purpose and channel, its consent history and its e-mail lookup, and what erasure and a purge
leave of them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain import consent
from domain.subject import Subject
from domain.tenant import Tenant
from projections.read_models.sealed_columns import email_hash
from projections.read_models.subject_profiles import SubjectProfiles
from projections.read_models.tables import (
    CONSENT_HISTORY,
    EMAIL_LOOKUP,
    SUBJECT_CONSENTS,
    SUBJECT_PROFILES,
)
from tests.unit.in_memory_writer import InMemoryReadModel

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
LOOKUP_KEY = b"k" * 32
OFFICER = "officer-1"


def registered() -> tuple[InMemoryReadModel, Tenant, Subject]:
    model = InMemoryReadModel(lambda sealer: SubjectProfiles(sealer, LOOKUP_KEY))
    tenant = Tenant.open("Acme B.V.", None, OFFICER, NOW)
    subject = Subject.register(tenant.id, "Ada Lovelace", "Ada@Example.com", None, OFFICER, NOW)
    model.keys.create(tenant.id)
    model.keys.create(subject.id, tenant.id)
    model.apply(tenant, subject)
    return model, tenant, subject


def profile(model: InMemoryReadModel, subject: Subject) -> dict[str, object]:
    row = model.row(SUBJECT_PROFILES, subject.id)
    assert row is not None
    return row


def found_by(model: InMemoryReadModel, email: str) -> list[str]:
    hashed = email_hash(LOOKUP_KEY, email)
    return [row["subject_id"] for row in model.rows_where(EMAIL_LOOKUP, email_hash=hashed)]


def test_a_registered_subject_shows_its_fields_and_is_found_by_its_email() -> None:
    model, tenant, subject = registered()

    row = profile(model, subject)
    assert (row["tenant_id"], row["name"], row["email"], row["phone"]) == (
        str(tenant.id), "Ada Lovelace", "Ada@Example.com", None)
    assert (row["erased"], row["created_at"], row["version"]) == (0, NOW, 1)
    assert found_by(model, "  ada@example.COM ") == [str(subject.id)]


def test_personal_fields_are_kept_sealed_and_unreadable_once_the_key_is_gone() -> None:
    model, _, subject = registered()

    stored = model.rows.rows_of(SUBJECT_PROFILES)[(str(subject.id),)]
    assert "Ada" not in str(stored["name"]) and "Ada" not in str(stored["email"])
    model.keys.shred(subject.id)
    assert profile(model, subject)["name"] == "[erased]"


def test_a_rectified_email_replaces_the_old_one_in_the_lookup() -> None:
    model, _, subject = registered()
    later = NOW + timedelta(days=1)
    subject.rectify(OFFICER, later, email="ada@lovelace.org", phone="+31 6 12345678")
    model.apply(subject)

    row = profile(model, subject)
    assert (row["name"], row["email"]) == ("Ada Lovelace", "ada@lovelace.org")
    assert row["phone"] is not None
    assert (row["updated_at"], row["version"]) == (later, 2)
    assert found_by(model, "ada@example.com") == []
    assert found_by(model, "ada@lovelace.org") == [str(subject.id)]


def test_consent_given_then_withdrawn_on_a_channel_shows_both_decisions_and_the_history() -> None:
    model, _, subject = registered()
    subject.give_consent("info_mail", "web_form", "v3", OFFICER, NOW + timedelta(minutes=1))
    subject.withdraw_consent("info_mail", "unsubscribe_link", "ada", NOW + timedelta(minutes=2),
                             channel="email")
    model.apply(subject)

    decisions = {
        row["channel"]: (row["status"], row["method"], row["version"])
        for row in model.rows_where(SUBJECT_CONSENTS, subject_id=subject.id)
    }
    assert decisions == {
        consent.EVERY_CHANNEL: ("given", "web_form", 2),
        "email": ("withdrawn", "unsubscribe_link", 3),
    }
    assert [
        (row["purpose"], row["status"], row["channel"], row["actor"], row["at"])
        for row in model.rows_where(CONSENT_HISTORY, subject_id=subject.id)
    ] == [
        ("info_mail", "given", None, OFFICER, NOW + timedelta(minutes=1)),
        ("info_mail", "withdrawn", "email", "ada", NOW + timedelta(minutes=2)),
    ]
    row = profile(model, subject)
    assert (row["updated_at"], row["version"]) == (NOW + timedelta(minutes=2), 3)


def test_a_new_decision_on_the_same_purpose_and_channel_replaces_the_last() -> None:
    model, _, subject = registered()
    subject.give_consent("info_mail", "web_form", "v3", OFFICER, NOW)
    subject.withdraw_consent("info_mail", "web_form", OFFICER, NOW + timedelta(minutes=1))
    subject.give_consent("info_mail", "checkbox", "v4", OFFICER, NOW + timedelta(minutes=2))
    model.apply(subject)

    [row] = model.rows_where(SUBJECT_CONSENTS, subject_id=subject.id)
    assert (row["status"], row["method"], row["notice_version"]) == ("given", "checkbox", "v4")
    assert len(model.rows_where(CONSENT_HISTORY, subject_id=subject.id)) == 3


def test_an_opened_request_moves_the_profiles_version_and_nothing_else() -> None:
    model, _, subject = registered()
    before = profile(model, subject)
    subject.open_request("access", subject.id, NOW + timedelta(days=1))
    model.apply(subject)

    after = profile(model, subject)
    assert after["version"] == 2
    assert {k: v for k, v in after.items() if k != "version"} == {
        k: v for k, v in before.items() if k != "version"
    }


def test_an_erased_subject_keeps_no_personal_field_no_consent_and_no_lookup() -> None:
    model, _, subject = registered()
    subject.give_consent("info_mail", "web_form", "v3", OFFICER, NOW)
    erased_at = NOW + timedelta(days=1)
    subject.erase("dpo-dan", erased_at)
    model.apply(subject)

    stored = model.rows.rows_of(SUBJECT_PROFILES)[(str(subject.id),)]
    assert (stored["name"], stored["email"], stored["phone"], stored["erased"]) == (
        None, None, None, 1)
    assert (profile(model, subject)["updated_at"], stored["version"]) == (erased_at, 3)
    assert model.rows_where(SUBJECT_CONSENTS, subject_id=subject.id) == []
    assert model.rows_where(CONSENT_HISTORY, subject_id=subject.id) == []
    assert found_by(model, "ada@example.com") == []


def test_a_purged_tenants_subjects_are_erased_and_other_tenants_subjects_are_not() -> None:
    model, tenant, subject = registered()
    other_tenant = Tenant.open("Beta B.V.", None, OFFICER, NOW)
    other = Subject.register(other_tenant.id, "Bea", "bea@example.com", None, OFFICER, NOW)
    model.keys.create(other.id, other_tenant.id)
    for someone in (subject, other):
        someone.give_consent("info_mail", "web_form", "v3", OFFICER, NOW)
    tenant.terminate(OFFICER, NOW)
    tenant.purge(OFFICER, NOW + timedelta(days=61))
    model.apply(other_tenant, other, subject, tenant)

    stored = model.rows.rows_of(SUBJECT_PROFILES)
    assert stored[(str(subject.id),)]["erased"] == 1
    assert stored[(str(subject.id),)]["name"] is None
    assert model.rows_where(SUBJECT_CONSENTS, subject_id=subject.id) == []
    assert found_by(model, "ada@example.com") == []
    assert stored[(str(other.id),)]["erased"] == 0
    assert len(model.rows_where(SUBJECT_CONSENTS, subject_id=other.id)) == 1
    assert found_by(model, "bea@example.com") == [str(other.id)]


def test_a_subject_whose_key_is_gone_is_not_found_by_its_new_email() -> None:
    model, _, subject = registered()
    model.keys.shred(subject.id)
    subject.rectify(OFFICER, NOW, email="ada@lovelace.org")
    model.apply(subject)

    assert found_by(model, "ada@lovelace.org") == []
    assert found_by(model, "ada@example.com") == []


def test_a_correction_after_the_tenants_purge_does_not_bring_the_profile_back() -> None:
    model, tenant, subject = registered()
    tenant.terminate(OFFICER, NOW)
    tenant.purge(OFFICER, NOW + timedelta(days=61))
    model.apply(tenant)
    subject.rectify(OFFICER, NOW + timedelta(days=62), name="Ada King")
    model.apply(subject)

    stored = model.rows.rows_of(SUBJECT_PROFILES)[(str(subject.id),)]
    assert (stored["name"], stored["erased"], stored["version"]) == (None, 1, 1)


def test_a_subject_erased_before_the_tenants_purge_keeps_the_time_of_its_erasure() -> None:
    model, tenant, subject = registered()
    subject.erase("dpo-dan", NOW + timedelta(days=1))
    tenant.terminate(OFFICER, NOW + timedelta(days=2))
    tenant.purge(OFFICER, NOW + timedelta(days=63))
    model.apply(subject, tenant)

    assert profile(model, subject)["updated_at"] == NOW + timedelta(days=1)

"""Crypto-shredding (DESIGN.md §4): personal fields are sealed with the owner's key before storage,
a sealed field only opens in its own event, and erasure destroys the key at a constant cost."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.exceptions import InvalidTag
from eventsourcing.persistence import StoredEvent

from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.errors import StoredDataTampered, SubjectErased
from domain.ledger.keys import InMemoryKeyStore, KeyShredded, KeyEncryptionKey
from domain.personal import ERASED
from domain.ledger.shredding import ENVELOPE
from tests.unit.conftest import event_count

OFFICER, APP = "officer-1", "app"
SECRETS = {
    "tenant name": "Eenmanszaak Pieter Smit",
    "name": "Zoë Verhoeven",
    "email": "zoe.verhoeven@example.org",
    "phone": "+31698765432",
    "rectified email": "zoe@example.net",
    "ip address": "198.51.100.23",
    "request details": "please send everything about Zoë",
    "extension reason": "Zoë's records span three archives",
    "rejection reason": "Zoë asked twice",
    "access reason": "Zoë reports a login problem",
    "denial reason": "Pieter prefers not",
    "revocation reason": "Pieter solved it",
}


class CountingKeyStore(InMemoryKeyStore):
    """Counts writes to the key table, which is what erasure costs."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def create(self, owner_id: UUID, tenant_id: UUID | None = None) -> None:
        self.writes += 1
        super().create(owner_id, tenant_id)

    def shred(self, owner_id: UUID) -> None:
        self.writes += 1
        super().shred(owner_id)


def stored_states(ledger: Ledger) -> list[bytes]:
    return [n.state for n in ledger.recorder.select_notifications(1, 100_000)]


def every_personal_event(ledger: Ledger) -> tuple[UUID, UUID]:
    """One of each event that carries personal data, with the secrets above."""
    tenant = ledger.open_tenant(SECRETS["tenant name"], OFFICER).aggregate.id
    subject = ledger.register_subject(
        SECRETS["name"], SECRETS["email"], APP, tenant, SECRETS["phone"]
    ).aggregate.id
    ledger.rectify_subject(subject, OFFICER, email=SECRETS["rectified email"])
    ledger.give_consent(subject, "info_mail", "web_form", "v1", APP, ip_address=SECRETS["ip address"])
    ledger.withdraw_consent(subject, "info_mail", "web_form", APP, ip_address=SECRETS["ip address"])
    request = ledger.receive_data_request(
        subject, "access", "email", OFFICER, details=SECRETS["request details"]
    ).aggregate.id
    ledger.extend_data_request(request, 1, SECRETS["extension reason"], OFFICER)
    ledger.reject_data_request(request, SECRETS["rejection reason"], OFFICER)
    denied = ledger.request_access(tenant, "staff-1", "read", ["orders"], SECRETS["access reason"])
    ledger.deny_access(denied.aggregate.id, "customer-1", SECRETS["denial reason"])
    revoked = ledger.request_access(tenant, "staff-1", "read", ["orders"], SECRETS["access reason"])
    ledger.approve_access(revoked.aggregate.id, "customer-1")
    ledger.revoke_access(revoked.aggregate.id, "customer-1", SECRETS["revocation reason"])
    return tenant, subject


def test_no_personal_field_reaches_the_store_in_plaintext(ledger: Ledger) -> None:
    every_personal_event(ledger)
    stored = b"\n".join(stored_states(ledger))
    for label, secret in SECRETS.items():
        assert secret.encode() not in stored, label
        assert json.dumps(secret).encode() not in stored, f"{label} (JSON-escaped)"
    # Fragments too, long enough never to turn up by chance inside base64 ciphertext.
    for word in ("Zoë", "Zo\\u00eb", "Pieter", "Verhoeven", "198.51.100"):
        assert word.encode() not in stored, word


def test_the_ledger_reads_back_what_it_sealed(ledger: Ledger) -> None:
    tenant, subject = every_personal_event(ledger)
    assert ledger.tenant(tenant).name == SECRETS["tenant name"]
    person = ledger.subject(subject)
    assert (person.name, person.email, person.phone) == (
        SECRETS["name"], SECRETS["rectified email"], SECRETS["phone"]
    )


def test_a_sealed_field_is_an_envelope_naming_its_owner(ledger: Ledger) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", APP).aggregate.id
    state = json.loads(stored_states(ledger)[0])
    assert set(state["name"]) == {ENVELOPE, "k"}
    assert state["name"]["k"] == str(subject)
    assert state["phone"] is None, "absent values stay absent"


def test_a_tenants_request_reasons_are_sealed_with_the_tenants_key(ledger: Ledger) -> None:
    tenant = ledger.open_tenant("Acme", OFFICER).aggregate.id
    ledger.request_access(tenant, "staff-1", "read", ["orders"], "look at order 17")
    state = json.loads(stored_states(ledger)[-1])
    assert state["reason"]["k"] == str(tenant)


# An envelope opens only in its own event and field
def _tamper(ledger: Ledger, index: int, change: Any) -> None:
    """Rewrites the stored state of the index-th event in the in-memory store."""
    recorder: Any = ledger.recorder
    stored: StoredEvent = recorder._stored_events[index]
    state = json.loads(stored.state)
    change(state)
    recorder._stored_events[index] = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )


def test_an_envelope_copied_from_another_event_does_not_decrypt(ledger: Ledger) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", APP).aggregate.id
    ledger.rectify_subject(subject, OFFICER, name="Anna")
    registered = json.loads(stored_states(ledger)[0])

    _tamper(ledger, 1, lambda state: state.update(name=registered["name"]))

    with pytest.raises(StoredDataTampered) as raised:
        ledger.subject(subject)
    assert raised.value.field == "name" and raised.value.version == 2


def test_an_envelope_moved_to_another_field_of_the_same_event_does_not_decrypt(
    ledger: Ledger,
) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", APP).aggregate.id
    _tamper(ledger, 0, lambda state: state.update(name=state["email"]))
    with pytest.raises(StoredDataTampered):
        ledger.subject(subject)


def test_a_flipped_bit_in_the_ciphertext_is_detected(ledger: Ledger) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", APP).aggregate.id

    def flip(state: dict[str, Any]) -> None:
        sealed = state["email"][ENVELOPE]
        state["email"][ENVELOPE] = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]

    _tamper(ledger, 0, flip)
    with pytest.raises(StoredDataTampered):
        ledger.subject(subject)


def test_an_envelope_pointing_at_another_owners_key_is_detected(ledger: Ledger) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", APP).aggregate.id
    other = ledger.register_subject("Bo", "bo@example.org", APP).aggregate.id
    ledger.erase_subject(other, OFFICER)  # pointing at a shredded key must not read as "[erased]"
    _tamper(ledger, 0, lambda state: state["name"].update(k=str(other)))
    with pytest.raises(StoredDataTampered):
        ledger.subject(subject)


def test_a_personal_field_stored_bare_is_detected_rather_than_believed(ledger: Ledger) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", APP).aggregate.id
    _tamper(ledger, 0, lambda state: state.update(email="mallory@example.org"))
    with pytest.raises(StoredDataTampered):
        ledger.subject(subject)


# The key
def test_an_erased_subjects_key_is_never_created_again(ledger: Ledger) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", APP).aggregate.id
    ledger.erase_subject(subject, OFFICER)
    with pytest.raises(KeyShredded):
        ledger.keys.create(subject)
    assert ledger.keys.get(subject) is None
    assert isinstance(KeyShredded(), SubjectErased), "the API answers it as a conflict"


def test_an_id_that_never_had_a_key_can_be_fenced_too() -> None:
    keys = InMemoryKeyStore()
    owner = uuid4()
    keys.shred(owner)
    with pytest.raises(KeyShredded):
        keys.create(owner)


def test_a_wrapped_key_copied_onto_another_owner_does_not_unwrap() -> None:
    master = KeyEncryptionKey(bytes(range(32)))
    ann, bo = uuid4(), uuid4()
    wrapped = master.wrap(ann, b"k" * 32)
    assert master.unwrap(ann, wrapped) == b"k" * 32
    with pytest.raises(InvalidTag):
        master.unwrap(bo, wrapped)


def test_the_master_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        KeyEncryptionKey(b"short")


def test_nothing_personal_is_written_under_a_shredded_key(ledger: Ledger) -> None:
    """The mapper is the last fence: even a command that forgot to check is refused."""
    from domain.subject import Subject

    subject_id = ledger.register_subject("Ann", "ann@example.org", APP).aggregate.id
    subject = ledger.subject(subject_id)
    ledger.keys.shred(subject_id)
    subject.rectify(OFFICER, ledger.now(), name="Annie")
    before = event_count(ledger)
    with pytest.raises(KeyShredded):
        ledger.save(subject)
    assert event_count(ledger) == before
    assert isinstance(ledger.subject(subject_id), Subject)


# Erasure
def test_an_erased_subjects_history_replays_as_erased_not_as_an_error(ledger: Ledger) -> None:
    _, subject = every_personal_event(ledger)
    ledger.erase_subject(subject, OFFICER)
    events = list(ledger.subject_events(subject))
    assert events[0].name == ERASED and events[0].email == ERASED and events[0].phone == ERASED
    assert events[1].email == ERASED
    assert events[2].ip_address == ERASED
    assert type(events[-1]).__name__ == "Erased"
    person = ledger.subject(subject)
    assert person.erased and person.consents["info_mail"]["*"]["status"] == "withdrawn"


@pytest.mark.parametrize("history", [1, 150])
def test_erasure_costs_one_event_and_one_key_write_however_long_the_history(
    clock: MovableClock, history: int
) -> None:
    keys = CountingKeyStore()
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, keys=keys, clock=clock)
    subject = ledger.register_subject("Ann", "ann@example.org", APP).aggregate.id
    for number in range(history):
        ledger.give_consent(subject, "info_mail", "web_form", f"v{number}", APP,
                            ip_address="192.0.2.1")
    events_before, key_writes_before = event_count(ledger), keys.writes

    ledger.erase_subject(subject, OFFICER)

    assert event_count(ledger) - events_before == 1, "one fence event"
    assert keys.writes - key_writes_before == 1, "one key destroyed"
    assert event_count(ledger) == history + 2, "every earlier event is still there"

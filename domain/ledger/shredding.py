"""Crypto-shredding in the mapper: personal fields are encrypted before an event is stored.

Each field an event class declares personal is replaced by an envelope
`{"_pd_": base64(nonce ‖ AES-GCM ciphertext), "k": owner id}`, encrypted with the owner's
data key. The associated data binds the ciphertext to the event's identity (originator id,
version, topic) and the field name, so an envelope moved to another event or field does not
decrypt. When the owner's key has been shredded, reading gives "[erased]" and writing a
personal value refuses (KeyShredded). An envelope that does not open, names another owner,
or a personal field stored bare is tampering: reading raises StoredDataTampered instead of
handing back wrong data.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from domain.errors import StoredDataTampered
from domain.ledger.keys import KeyShredded, KeyStore
from domain.personal import ERASED, data_owner_id, personal_fields

ENVELOPE = "_pd_"


def associated_data(originator_id: object, version: int, topic: str, field: str) -> bytes:
    return f"{originator_id}|{version}|{topic}|{field}".encode()


def seal(key: bytes, plaintext: Any, aad: bytes) -> str:
    nonce = os.urandom(12)
    data = json.dumps(plaintext, ensure_ascii=False).encode()
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, data, aad)).decode()


def open_sealed(key: bytes, sealed: str, aad: bytes) -> Any:
    raw = base64.b64decode(sealed)
    return json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], aad))


class ShreddingMapper(Mapper[UUID]):
    def __init__(self, transcoder: Any, keys: KeyStore, **kwargs: Any) -> None:
        super().__init__(transcoder, **kwargs)
        self.keys = keys

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        fields = personal_fields(domain_event)
        state = dict(vars(domain_event))
        present = [field for field in fields if state.get(field) is not None]
        if not present:
            # Nothing personal to seal (e.g. consent withdrawn without an IP address).
            return super().to_stored_event(domain_event)
        topic = get_topic(type(domain_event))
        owner = data_owner_id(type(domain_event), state)
        key = self.keys.get(owner)
        if key is None:
            # The fence: nothing personal is written about an erased person.
            raise KeyShredded()
        for field in present:
            aad = associated_data(state["originator_id"], state["originator_version"], topic, field)
            state[field] = {ENVELOPE: seal(key, state[field], aad), "k": str(owner)}
        masked = object.__new__(type(domain_event))
        object.__setattr__(masked, "__dict__", state)
        return super().to_stored_event(masked)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        fields = personal_fields(domain_event)
        state = domain_event.__dict__
        for field in fields:
            envelope = state.get(field)
            if envelope is None:
                continue

            # Every personal value was sealed on the way in, so a bare value or an envelope
            # naming another owner can only mean the stored bytes were changed.
            if not (isinstance(envelope, dict) and isinstance(envelope.get(ENVELOPE), str)):
                raise _tampered(stored_event, field)
            if envelope.get("k") != str(data_owner_id(type(domain_event), state)):
                raise _tampered(stored_event, field)
            key = self.keys.get(UUID(envelope["k"]))
            if key is None:
                state[field] = ERASED
                continue
            aad = associated_data(
                stored_event.originator_id, stored_event.originator_version,
                stored_event.topic, field,
            )
            try:
                state[field] = open_sealed(key, envelope[ENVELOPE], aad)
            except (InvalidTag, binascii.Error, ValueError):
                raise _tampered(stored_event, field) from None
        return domain_event


def _tampered(stored_event: StoredEvent, field: str) -> StoredDataTampered:
    return StoredDataTampered(stored_event.originator_id, stored_event.originator_version, field)

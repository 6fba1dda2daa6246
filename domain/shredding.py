"""Crypto-shredding in the mapper: personal fields are encrypted before an event is stored.

Each field an event class declares personal is replaced by an envelope
`{"_pd_": base64(nonce ‖ AES-GCM ciphertext), "k": owner id}`, encrypted with the owner's
data key. The associated data binds the ciphertext to the event's identity (originator id,
version, topic) and the field name, so an envelope moved to another event or field does not
decrypt. When the owner's key has been shredded, reading gives "[erased]" and writing refuses.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from domain.keys import KeyShredded, KeyStore
from domain.personal import ERASED

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
        fields = getattr(type(domain_event), "personal_fields", ())
        if not fields:
            return super().to_stored_event(domain_event)
        topic = get_topic(type(domain_event))
        state = dict(vars(domain_event))
        owner = state.get(type(domain_event).data_owner) or state["originator_id"]
        key = self.keys.get(owner)
        if key is None:
            # The fence: nothing new is written about an erased person.
            raise KeyShredded()
        for field in fields:
            if state.get(field) is not None:
                aad = associated_data(
                    state["originator_id"], state["originator_version"], topic, field
                )
                state[field] = {ENVELOPE: seal(key, state[field], aad), "k": str(owner)}
        masked = object.__new__(type(domain_event))
        object.__setattr__(masked, "__dict__", state)
        return super().to_stored_event(masked)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        fields = getattr(type(domain_event), "personal_fields", ())
        state = domain_event.__dict__
        for field in fields:
            envelope = state.get(field)
            if isinstance(envelope, dict) and ENVELOPE in envelope:
                key = self.keys.get(UUID(envelope["k"]))
                if key is None:
                    state[field] = ERASED
                else:
                    aad = associated_data(
                        stored_event.originator_id, stored_event.originator_version,
                        stored_event.topic, field,
                    )
                    state[field] = open_sealed(key, envelope[ENVELOPE], aad)
        return domain_event

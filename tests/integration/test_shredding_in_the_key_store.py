"""Shredding in the stored key store, on every store: the fence that keeps an erased person's
key from ever being made again holds for an id that never had a key too (an erasure that
reached the ledger before the person's first event, say). Found by `make mutate`: every mutant
of that branch survived, because only the in-memory store's fence was tested."""

from __future__ import annotations

from uuid import uuid4

import pytest

from api.bootstrap import Stores
from domain.ledger.keys import KeyShredded


def test_an_id_shredded_before_it_had_a_key_never_gets_one(stores: Stores) -> None:
    owner = uuid4()
    stores.keys.shred(owner)

    with pytest.raises(KeyShredded):
        stores.keys.create(owner)
    assert stores.keys.get(owner) is None


def test_shredding_a_key_leaves_the_others_alone(stores: Stores) -> None:
    kept, shredded = uuid4(), uuid4()
    stores.keys.create(kept)
    stores.keys.create(shredded)
    stores.keys.shred(shredded)
    stores.keys.forget_cached()

    assert stores.keys.get(kept) is not None
    assert stores.keys.get(shredded) is None
    with pytest.raises(KeyShredded):
        stores.keys.create(shredded)


def test_a_shredded_key_is_gone_at_once_for_the_process_that_shredded_it(stores: Stores) -> None:
    """Its cache must not hand out the key for another few seconds (other processes may, for at
    most keystore.CACHE_SECONDS: docs/domain.md, "Cache TTL and several processes")."""
    owner, bystander = uuid4(), uuid4()
    stores.keys.create(owner)
    stores.keys.create(bystander)
    assert stores.keys.get(owner) is not None and stores.keys.get(bystander) is not None

    stores.keys.shred(owner)

    assert stores.keys.get(owner) is None
    assert stores.keys.get(bystander) is not None

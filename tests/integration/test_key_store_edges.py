"""The stored key store (projections/storage/key_store.py) at its edges, on every store: a tenant's purge
destroys exactly its keys; a read that meets an epoch close half-way still finds the key (or
finds it shredded); a store without a key epoch says how to open one. Found by `make mutate`:
no in-process test reached the tenant shredding, and the re-read after a KEK vanished mid-read
could be removed with every test green."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from api.bootstrap import Stores
from domain.clock import MovableClock
from domain.key_epochs import EpochPolicy
from domain.ledger.keys import KeyEncryptionKey, KeyShredded
from projections.storage.database import open_database
from projections.storage.key_directory import KeyDirectory
from projections.storage.key_epochs import KeyEpochs
from projections.storage.key_store import NoKeyEpoch, SqlKeyStore


def _wrapped_key(stores: Stores, owner: UUID) -> bytes | None:
    row = stores.db.fetchone("SELECT wrapped_key FROM data_keys WHERE owner_id = %s", (str(owner),))
    assert row is not None, "the owner has no row at all"
    return None if row[0] is None else bytes(row[0])


# --- a tenant's purge ---------------------------------------------------------------------------


def test_purging_a_tenant_destroys_its_key_and_its_subjects_keys_and_no_one_elses(
    stores: Stores, clock: MovableClock
) -> None:
    ledger = stores.ledger
    leaving = ledger.open_tenant("Leaving Ltd", "officer-1").aggregate.id
    staying = ledger.open_tenant("Staying Ltd", "officer-1").aggregate.id
    gone = [ledger.register_subject(f"Gone {n}", f"gone{n}@example.org", "app", leaving)
            .aggregate.id for n in range(2)]
    kept = ledger.register_subject("Kept", "kept@example.org", "app", staying).aggregate.id
    loner = ledger.register_subject("Loner", "loner@example.org", "app").aggregate.id
    assert all(stores.keys.get(owner) is not None for owner in [leaving, *gone])  # now cached
    ledger.terminate_tenant(leaving, "officer-1")
    clock.move(days=61)

    ledger.purge_tenant(leaving, "officer-1")

    for owner in [leaving, *gone]:  # at once, in this process too: nothing read from a cache
        assert stores.keys.get(owner) is None, owner
        assert _wrapped_key(stores, owner) is None
        with pytest.raises(KeyShredded):
            stores.keys.create(owner)
    for owner in (staying, kept, loner):
        assert stores.keys.get(owner) is not None, owner
    stores.keys.forget_cached()
    assert stores.keys.get(kept) is not None and stores.keys.get(loner) is not None


def test_shredding_a_tenant_counts_the_keys_it_destroyed_and_finds_none_the_second_time(
    stores: Stores,
) -> None:
    tenant = uuid4()
    stores.keys.create(tenant)  # a tenant's own key, even one made without its tenant column
    for _ in range(2):
        stores.keys.create(uuid4(), tenant_id=tenant)
    other = uuid4()
    stores.keys.create(other, tenant_id=uuid4())

    assert stores.keys.shred_tenant(tenant) == 3
    assert stores.keys.get(tenant) is None
    assert stores.keys.shred_tenant(tenant) == 0
    assert stores.keys.get(other) is not None


def test_a_pending_erasure_names_the_tenant_of_the_key_or_none(stores: Stores) -> None:
    tenant, in_tenant, alone = uuid4(), uuid4(), uuid4()
    stores.keys.create(in_tenant, tenant_id=tenant)
    stores.keys.create(alone)
    for owner in (in_tenant, alone):
        stores.keys.shred(owner)

    pending = {erasure.owner_id: erasure.tenant_id for erasure in stores.epochs.pending()}

    assert pending == {in_tenant: tenant, alone: None}


# --- the derivation root ------------------------------------------------------------------------


def test_the_derivation_root_is_the_stores_own_random_secret_the_same_for_every_process(
    stores: Stores, tmp_path: Path
) -> None:
    root = stores.keys.derivation_root()
    another_process = SqlKeyStore(stores.db, stores.keys.keks, stores.keys.clock)
    elsewhere = open_database(f"sqlite:///{tmp_path}/elsewhere.sqlite")
    try:
        other_store = SqlKeyStore(elsewhere, KeyDirectory(tmp_path / "elsewhere-keys"))
        KeyEpochs(other_store, EpochPolicy()).start()

        assert len(root) == 32
        assert another_process.derivation_root() == root
        assert other_store.derivation_root() != root
    finally:
        elsewhere.close()


# --- an epoch close in the middle of a read -----------------------------------------------------


class _KeksThatVanishMidRead:
    """The key directory, seen by a process that reads a row wrapped by epoch `vanishing` just
    as another process closes that epoch and destroys its KEK: when this process then asks for
    that KEK, `meanwhile` has already happened and the KEK is gone."""

    def __init__(self, real: KeyDirectory, vanishing: int, meanwhile: Callable[[], None]) -> None:
        self.real, self.vanishing, self.meanwhile = real, vanishing, meanwhile
        self.raced = False

    def get(self, epoch: int) -> KeyEncryptionKey | None:
        if epoch == self.vanishing and not self.raced:
            self.raced = True
            self.meanwhile()
            self.real.destroy(epoch)
        return self.real.get(epoch)

    def __str__(self) -> str:
        return str(self.real)


def _reader(stores: Stores, meanwhile: Callable[[], None]) -> tuple[SqlKeyStore, _KeksThatVanishMidRead]:
    """A second key store on the same database: a process whose next read meets the close."""
    keks = _KeksThatVanishMidRead(stores.keys.keks, stores.keys.current_epoch(), meanwhile)
    return SqlKeyStore(stores.db, keks, stores.keys.clock), keks  # type: ignore[arg-type]


def test_a_key_read_while_another_process_closes_its_epoch_is_read_again_and_found(
    stores: Stores,
) -> None:
    owner = uuid4()
    stores.keys.create(owner)
    key = stores.keys.get(owner)
    reader, keks = _reader(stores, lambda: stores.epochs.close())

    assert reader.get(owner) == key
    assert keks.raced  # the read really met the close
    assert reader.derivation_root() == stores.keys.derivation_root()


def test_the_root_read_while_another_process_closes_its_epoch_is_read_again_and_found(
    stores: Stores,
) -> None:
    root = stores.keys.derivation_root()
    reader, keks = _reader(stores, lambda: stores.epochs.close())

    assert reader.derivation_root() == root
    assert keks.raced


def test_a_key_shredded_while_it_was_being_read_reads_as_shredded(stores: Stores) -> None:
    owner, bystander = uuid4(), uuid4()
    stores.keys.create(owner)
    stores.keys.create(bystander)
    reader, keks = _reader(stores, lambda: stores.keys.shred(owner))

    assert reader.get(owner) is None
    assert keks.raced


def test_a_kek_missing_from_the_start_is_an_error_naming_the_epoch_not_a_shredded_key(
    stores: Stores, tmp_path: Path
) -> None:
    owner = uuid4()
    stores.keys.create(owner)
    epoch = stores.keys.current_epoch()
    blind = SqlKeyStore(stores.db, KeyDirectory(tmp_path / "elsewhere"), stores.keys.clock)

    with pytest.raises(Exception, match=f"key-encryption key of epoch {epoch} is not in "
                                         f"the key directory {tmp_path / 'elsewhere'}"):
        blind.get(owner)


# --- a store without a key epoch ----------------------------------------------------------------


def test_a_key_store_without_a_key_epoch_refuses_keys_and_says_how_to_open_it(
    tmp_path: Path,
) -> None:
    db = open_database(f"sqlite:///{tmp_path}/bare.sqlite")
    try:
        keys = SqlKeyStore(db, KeyDirectory(tmp_path / "keys"))
        for attempt in (lambda: keys.create(uuid4()), keys.derivation_root, keys.current_epoch):
            with pytest.raises(NoKeyEpoch) as refused:
                attempt()
            assert str(refused.value) == (
                "the key store has no key epoch yet: open it with api.bootstrap.open_stores"
            )
    finally:
        db.close()

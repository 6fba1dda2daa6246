"""An evidence bundle: one tenant's access-log events, each with its proof to one signed checkpoint.

What a customer's auditor checks offline, with verify_bundle.py (shipped inside) and nothing of
ours: for every event its stored bytes, leaf bytes, leaf hash and RFC 9162 inclusion proof to
the latest checkpoint that is a signed note, and that note with its witnesses' cosignatures.

The tenant's access-log events are those the access log (read_models/access_log.py) is made of
- accesses and refusals, disclosures, the vendor's reads of its subjects, its purge - and the
grants behind the accesses: every event of an access request for the tenant. They are picked
from the event log itself, not from the read model, because the event log is what is proved.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

from eventsourcing.persistence import Mapper
from eventsourcing.utils import get_topic

from domain.access import AccessRequest
from domain.disclosure import Disclosure
from domain.tenant import Tenant
from domain.vendor_read import VendorRead
from projections.audit.bundle_readme import readme
from projections.audit.events_feed import masked_event
from projections.merkle_log.checkpoints import public_key_pem
from projections.merkle_log.leaves import leaf_bytes
from projections.merkle_log.notes import note_at
from projections.merkle_log.proofs import Proofs
from projections.merkle_log.store import create_tables, leaves_for_notifications
from projections.merkle_log.tlog_checkpoint import log_verifier, parse_checkpoint
from projections.storage.database import Database
from projections.storage.synced_files import sync

FORMAT = "compliance-ledger evidence bundle v1"
VERIFIER = Path(__file__).with_name("verify_bundle.py")
CHUNK = 1000  # notifications read per query
_REQUEST_TOPICS = frozenset(
    get_topic(cls) for cls in vars(AccessRequest).values()
    if isinstance(cls, type) and issubclass(cls, AccessRequest.Event)
)
_REQUESTED = get_topic(AccessRequest.Requested)
# Events that name their tenant in a field; a purge is the tenant's own event.
_BY_FIELD = frozenset({get_topic(Disclosure.Recorded), get_topic(VendorRead.Recorded)})
_PURGED = get_topic(Tenant.Purged)
TOPICS = tuple(sorted(_REQUEST_TOPICS | _BY_FIELD | {_PURGED}))


class NoCheckpoint(Exception):
    """Nothing has been signed as a note yet, so there is nothing to prove events against."""


@dataclass(frozen=True)
class Period:
    """[since, until): either end open when None; times are tz-aware."""

    since: datetime | None = None
    until: datetime | None = None

    def holds(self, moment: datetime | None) -> bool:
        if moment is None:  # an event that no longer decodes: shown, so that it fails to verify
            return True
        return (self.since is None or moment >= self.since) and (self.until is None or moment < self.until)


@dataclass
class Counts:
    events: int = 0  # in the bundle, proved to the checkpoint
    newer: int = 0  # the tenant's, but not yet in the checkpoint: left out


class TenantAccessEvents:
    """Decides, in notification order, which events are the tenant's access log. An access
    request's later events carry no tenant: they belong to it when its `Requested` did."""

    def __init__(self, ledger: Any, tenant_id: UUID, period: Period) -> None:
        self.ledger, self.tenant_id, self.period = ledger, tenant_id, period
        self.requests: set[UUID] = set()

    def wanted(self, notification: Any) -> bool:
        topic, originator = notification.topic, UUID(str(notification.originator_id))
        # Decoded only when its fields say whose it is, or once it is known to be the tenant's.
        names_tenant = topic == _REQUESTED or topic in _BY_FIELD
        event = self._decoded(notification) if names_tenant else None
        tenant = None if event is None else getattr(event, "tenant_id", None)
        if topic == _REQUESTED and tenant == self.tenant_id:
            self.requests.add(originator)
        if topic in _REQUEST_TOPICS:
            ours = originator in self.requests
        else:
            ours = tenant == self.tenant_id if names_tenant else originator == self.tenant_id
        if not ours:
            return False
        if event is None:
            event = self._decoded(notification)
        return self.period.holds(None if event is None else event.timestamp)

    def _decoded(self, notification: Any) -> Any:
        try:
            return Mapper.to_domain_event(self.ledger.mapper, notification)
        except Exception:  # noqa: BLE001 - a tampered row is the auditor's to find
            return None


def candidates(ledger: Any, on_progress: Callable[[int], None]) -> Iterator[Any]:
    """Every stored event of an access-log topic, oldest first, a chunk per query."""
    recorder, start = ledger.recorder, None
    while True:
        batch = recorder.select_notifications(
            start=start, limit=CHUNK, topics=TOPICS, inclusive_of_start=start is None
        )
        yield from batch
        if batch:
            start = int(batch[-1].id)
            on_progress(start)
        if len(batch) < CHUNK:
            return


def write_bundle(
    out: BinaryIO, ledger: Any, db: Database, log_key: Any, tenant_id: UUID, period: Period,
    created_at: datetime, on_progress: Callable[[int], None] = lambda _: None,
) -> dict[str, Any]:
    """Writes the zip to `out`; returns its manifest. Raises NoCheckpoint."""
    create_tables(db)
    note = note_at(db, log_key)
    if note is None:
        raise NoCheckpoint("no checkpoint has been signed as a note yet: run `ledger seal` or "
                           "let the sealer sign one")
    body = parse_checkpoint(note.text)
    proofs, counts = Proofs(db), Counts()
    selection = TenantAccessEvents(ledger, tenant_id, period)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        entry = zipfile.ZipInfo("events.jsonl", created_at.timetuple()[:6])
        entry.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(entry, "w") as events:
            for chunk in _chunks(selection, candidates(ledger, on_progress)):
                sealed = leaves_for_notifications(db, int(chunk[0].id), int(chunk[-1].id))
                for notification in chunk:
                    index, leaf_hash = sealed.get(int(notification.id), (None, None))
                    if index is None or index >= body.tree_size:
                        counts.newer += 1
                        continue
                    path = proofs.inclusion(index, body.tree_size).path
                    events.write(_event_line(ledger, notification, index, leaf_hash, path))
                    counts.events += 1
        manifest = {
            "format": FORMAT, "tenant": str(tenant_id),
            "since": _iso(period.since), "until": _iso(period.until),
            "created_at": _iso(created_at), "origin": body.origin, "tree_size": body.tree_size,
            "root_hash": body.root_hash.hex(),
            "counts": {"events": counts.events, "newer_than_checkpoint": counts.newer},
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2) + "\n")
        archive.writestr("checkpoint.note", note.render())
        archive.writestr("log.vkey", log_verifier(body.origin, log_key).vkey() + "\n")
        archive.writestr("log-public-key.pem", public_key_pem(log_key))
        archive.writestr("README.txt", readme(manifest))
        archive.writestr("verify_bundle.py", VERIFIER.read_bytes())
    return manifest


def _chunks(selection: TenantAccessEvents, stream: Iterator[Any]) -> Iterator[list[Any]]:
    """The selected events, in lists of up to CHUNK, so that their leaves are one query."""
    chunk: list[Any] = []
    for notification in stream:
        if selection.wanted(notification):
            chunk.append(notification)
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _event_line(ledger: Any, notification: Any, index: int, leaf_hash: bytes, path: list[bytes]) -> bytes:
    state = bytes(notification.state)
    item = {
        "id": int(notification.id), "index": index,
        "originator_id": str(notification.originator_id),
        "originator_version": int(notification.originator_version), "topic": notification.topic,
        "state": base64.b64encode(state).decode(),
        "leaf": base64.b64encode(leaf_bytes(
            notification.id, notification.originator_id, notification.originator_version,
            notification.topic, state,
        )).decode(),
        "leaf_hash": leaf_hash.hex(), "inclusion_path": [p.hex() for p in path],
        "data": masked_event(ledger, notification),
    }
    return json.dumps(item, ensure_ascii=False).encode() + b"\n"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A file that appears at `path` whole or not at all: written beside it, synced, renamed."""
    handle = tempfile.NamedTemporaryFile(
        "w+b", dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
    )
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
        sync(path.parent)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise

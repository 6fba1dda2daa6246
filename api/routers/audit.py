"""The auditors' endpoints: the events as stored, signed checkpoints and RFC 9162 proofs.

Everything here lets an auditor check the ledger with their own code (docs/verifying.md): the
stored bytes and leaf hash of each event, the latest (or any earlier) signed checkpoint with the
public key, every checkpoint's C2SP note, and inclusion and consistency proofs for any tree size
up to the latest checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api import keyfiles
from api.http.deps import (
    MAX_POSITION, RETRY_AFTER_SECONDS, Auditor, CurrentLedgerDep, no_readable_replica,
)
from api.http.query_parameters import StrictQueryRoute
from api.http.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, PagingDep, fetch_page
from api.http.problems import ProblemException, documented, field_problem
from api.settings import Settings
from domain.errors import InvalidInput
from projections.audit.checkpoint_listing import checkpoint_page
from projections.audit.events_feed import audit_events
from projections.merkle_log.checkpoints import public_key_pem, public_key_raw_base64
from projections.merkle_log.notes import note_at, stored_origin
from projections.merkle_log.proofs import Proofs, TreeDamaged
from projections.merkle_log.store import checkpointed_position
from projections.storage.database import Database
from projections.storage.follower import Progress

router = APIRouter(
    prefix="/v1/audit", tags=["audit"], route_class=StrictQueryRoute,
    responses=documented(401, 403, 422),
)
MAX_SIZE = 2**63 - 1


# --- dependencies -------------------------------------------------------------------------------


def audit_db(request: Request) -> Database:
    """The Merkle tables to answer from: this store's, or a replica's."""
    source = request.app.state.container.reads.choose()
    if source is None:
        raise no_readable_replica()
    return source.db


def log_public_key(request: Request) -> Ed25519PublicKey:
    """The log's public key, derived once per app: each note's key id is made from it."""
    cached = getattr(request.app.state, "log_public_key", None)
    if cached is None:
        cached = keyfiles.signing_key(request.app.state.settings).public_key()
        request.app.state.log_public_key = cached
    return cached


def published_key(request: Request) -> tuple[str, str]:
    """(PEM, raw base64) of the log's public key, the forms the JSON checkpoint publishes."""
    key = log_public_key(request)
    return public_key_pem(key), public_key_raw_base64(key)


AuditDbDep = Annotated[Database, Depends(audit_db)]
LogPublicKeyDep = Annotated[Ed25519PublicKey, Depends(log_public_key)]


def sealed_proofs(
    request: Request,
    db: AuditDbDep,
    min_position: Annotated[
        int | None,
        Query(
            ge=0, le=MAX_POSITION,
            description="answer only once a signed checkpoint covers this position (the "
            "`position` a write answered), waiting a few seconds at most",
        ),
    ] = None,
) -> Proofs:
    proofs = Proofs(db)
    if min_position is None:
        return proofs
    settings: Settings = request.app.state.settings
    if not Progress().wait_for(
        min_position, settings.read_wait_seconds, lambda: checkpointed_position(db)
    ):
        raise ProblemException(
            503,
            f"no signed checkpoint covers position {min_position} yet; the sealer signs "
            f"within {settings.checkpoint_delay_seconds:g} s of a write, try again shortly",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    return proofs


ProofsDep = Annotated[Proofs, Depends(sealed_proofs)]
PublicKeyDep = Annotated[tuple[str, str], Depends(published_key)]


@contextmanager
def _as_problems() -> Iterator[None]:
    """A query the domain refused is a 422 naming the parameter; a Merkle log that cannot
    prove what it holds is a 503."""
    try:
        yield
    except InvalidInput as error:
        raise field_problem(error.field, error.detail, "query") from None
    except TreeDamaged as error:
        raise ProblemException(
            503, f"the Merkle log cannot prove this right now: {error}; run `ledger verify`",
        ) from None


# --- responses ----------------------------------------------------------------------------------


NOTE_DESCRIPTION = (
    "the same checkpoint as a C2SP signed note (c2sp.org/tlog-checkpoint) with every witness's "
    "cosignature kept for it, as GET /v1/log/checkpoint serves it; null for a checkpoint "
    "signed before the log had notes"
)


class CheckpointOut(BaseModel):
    tree_size: int = Field(description="how many events (leaves) the tree holds")
    root_hash: str = Field(description="RFC 9162 root of the first tree_size leaves, lowercase hex")
    timestamp: str = Field(description="when it was signed, UTC, exactly as signed")
    signature: str = Field(description="Ed25519 signature over the checkpoint text, standard base64")
    public_key: str = Field(description="the signing key's public half, PEM (SubjectPublicKeyInfo)")
    public_key_raw: str = Field(description="the same key as its 32 raw bytes, standard base64")
    origin: str | None = Field(description="the log's name (C2SP origin), the first line of every note")
    note: str | None = Field(description=NOTE_DESCRIPTION)


class ListedCheckpoint(BaseModel):
    tree_size: int = Field(description="how many events (leaves) the tree holds")
    root_hash: str = Field(description="RFC 9162 root of the first tree_size leaves, lowercase hex")
    timestamp: str = Field(description="when it was signed, UTC, exactly as signed")
    signature: str = Field(description="Ed25519 signature over the checkpoint text, standard base64")
    note: str | None = Field(description=NOTE_DESCRIPTION)


class InclusionOut(BaseModel):
    leaf_index: int
    tree_size: int
    leaf_hash: str = Field(description="SHA-256(0x00 ‖ leaf bytes), lowercase hex")
    path: list[str] = Field(description="RFC 9162 §2.1.3 audit path, nearest the leaf first, hex")


class ConsistencyOut(BaseModel):
    first: int
    second: int
    path: list[str] = Field(description="RFC 9162 §2.1.4 consistency proof, hex")


class AuditEvent(BaseModel):
    id: int = Field(description="notification id: the event's place in the one global order")
    index: int | None = Field(description="its leaf index in the Merkle log; null until sealed")
    originator_id: str
    originator_version: int
    topic: str
    state: str = Field(description="the stored state bytes, standard base64 (personal fields encrypted)")
    leaf_hash: str | None = Field(description="the sealed leaf hash, lowercase hex; null until sealed")
    data: dict | None = Field(description="the decoded event, personal fields as \"***\"; null if it no longer decodes")


class AuditEventPage(BaseModel):
    items: list[AuditEvent]
    next: str | None = Field(description="pass as `after` for the next page; null on the last")


# --- routes -------------------------------------------------------------------------------------


@router.get("/checkpoint", responses=documented(404, 503))
def checkpoint(
    caller: Auditor,
    proofs: ProofsDep,
    key: PublicKeyDep,
    log_key: LogPublicKeyDep,
    tree_size: Annotated[
        int | None,
        Query(ge=1, le=MAX_SIZE, description="an earlier checkpoint's size; default: the latest"),
    ] = None,
) -> CheckpointOut:
    """The latest signed checkpoint (or the one signed for `tree_size` leaves) and the public key.
    Signed text: "compliance-ledger checkpoint v1\\n<tree_size>\\n<root hex>\\n<timestamp>\\n"."""
    signed = proofs.checkpoint(tree_size)
    note = note_at(proofs.db, log_key, signed.tree_size)
    return CheckpointOut(
        **signed.as_json(), public_key=key[0], public_key_raw=key[1],
        origin=stored_origin(proofs.db), note=None if note is None else note.render(),
    )


@router.get("/checkpoints")
def checkpoints(
    caller: Auditor, db: AuditDbDep, log_key: LogPublicKeyDep, page: PagingDep
) -> Page[ListedCheckpoint]:
    """Every signed checkpoint, oldest first, each with its note and cosignatures (null note:
    signed before the log had notes). Keep them: a later checkpoint must extend each one."""
    found = fetch_page(page, lambda: checkpoint_page(db, log_key, page.after, page.limit))
    return Page[ListedCheckpoint].model_validate(found)


@router.get("/proofs/inclusion", responses=documented(503))
def inclusion(
    caller: Auditor,
    proofs: ProofsDep,
    index: Annotated[int, Query(ge=0, le=MAX_SIZE, description="the leaf index (0-based)")],
    tree_size: Annotated[
        int | None,
        Query(ge=1, le=MAX_SIZE, description="the tree to prove against; default: the latest checkpoint's"),
    ] = None,
) -> InclusionOut:
    """Proves that leaf `index` is in the tree of the first `tree_size` leaves."""
    with _as_problems():
        proof = proofs.inclusion(index, tree_size)
    return InclusionOut(**proof.as_json())


@router.get("/proofs/consistency", responses=documented(503))
def consistency(
    caller: Auditor,
    proofs: ProofsDep,
    first: Annotated[int, Query(ge=1, le=MAX_SIZE, description="the earlier tree size")],
    second: Annotated[
        int | None,
        Query(ge=1, le=MAX_SIZE, description="the later tree size; default: the latest checkpoint's"),
    ] = None,
) -> ConsistencyOut:
    """Proves that the tree of `first` leaves is a prefix of the tree of `second` leaves."""
    with _as_problems():
        proof = proofs.consistency(first, second)
    return ConsistencyOut(**proof.as_json())


@router.get("/events")
def events(
    caller: Auditor,
    ledger: CurrentLedgerDep,
    db: AuditDbDep,
    after: Annotated[
        str | None, Query(max_length=40, description="the `next` cursor of the previous page")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"items per page, 1 to {MAX_LIMIT}")
    ] = DEFAULT_LIMIT,
) -> AuditEventPage:
    """Every stored event, oldest first, with its stored bytes and sealed leaf, so that an
    auditor can recompute each leaf. Personal fields are masked ("***")."""
    with _as_problems():
        page = audit_events(ledger, db, after, limit)
    return AuditEventPage(**page)

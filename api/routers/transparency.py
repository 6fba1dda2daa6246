"""The log as the transparency ecosystem reads it (C2SP tlog-tiles): checkpoint note and tiles.

`/v1/log/checkpoint` is the latest checkpoint as a signed note (c2sp.org/tlog-checkpoint) with
the witnesses' cosignatures; `/v1/log/tile/...` the hash tiles and entry bundles from which a
client computes any proof itself (projections/merkle_log/tiles.py). Every role reads the
checkpoint and the hash tiles (a witness reads nothing else); entry bundles, which are the
events' leaf bytes, are for auditors.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.http.deps import LedgerDep, LogReader
from api.http.problems import ProblemException, documented
from api.http.query_parameters import StrictQueryRoute
from api.routers.audit import AuditDbDep, LogPublicKeyDep
from domain.vocabulary import Role
from projections.merkle_log.notes import note_at
from projections.merkle_log.proofs import TreeDamaged
from projections.merkle_log.tiles import ENTRIES, Tiles, parse_tile_path

router = APIRouter(
    prefix="/v1/log", tags=["transparency log"], route_class=StrictQueryRoute,
    responses=documented(401, 403),
)
NOTE_TYPE = "text/plain; charset=utf-8"
TILE_TYPE = "application/octet-stream"
# A tile never changes once served (only what a checkpoint covers is); private: behind auth.
IMMUTABLE = "private, max-age=31536000, immutable"


def _binary(content: str) -> dict[str, object]:
    return {200: {"content": {content: {"schema": {"type": "string", "format": "binary"}}}}}


@router.get(
    "/checkpoint", response_class=Response,
    responses={**_binary(NOTE_TYPE), **documented(404)},
)
def checkpoint(caller: LogReader, db: AuditDbDep, key: LogPublicKeyDep) -> Response:
    """The latest checkpoint as a C2SP signed note: origin, tree size and base64 root, the
    log's Ed25519 signature (key name = origin) and each witness's cosignature. Check it with
    the key `ledger public-key --vkey` prints (docs/verifying.md)."""
    note = note_at(db, key)
    if note is None:
        raise ProblemException(
            404, "no checkpoint has been signed yet; the sealer signs the first within "
            "seconds of the first event",
        )
    return Response(note.render(), media_type=NOTE_TYPE, headers={"Cache-Control": "no-cache"})


@router.get(
    "/tile/{path:path}", response_class=Response,
    responses={**_binary(TILE_TYPE), **documented(404, 503)},
)
def tile(
    caller: LogReader,
    db: AuditDbDep,
    ledger: LedgerDep,
    path: Annotated[str, Path(
        description="`<L>/<N>[.p/<W>]` (a hash tile) or `entries/<N>[.p/<W>]` (an entry "
        "bundle, auditors only), as c2sp.org/tlog-tiles spells them: 1234067 is x001/x234/067",
    )],
) -> Response:
    """A hash tile (256 hashes of 32 bytes when full) or an entry bundle (each leaf's bytes
    after their big-endian uint16 length), within the latest checkpoint; 404 beyond it."""
    # Before anything is looked up, so that a 403 tells nothing about what exists.
    if path.split("/", 1)[0] == ENTRIES and caller.role is not Role.AUDITOR:
        raise ProblemException(
            403, f"a {caller.role.value} may not read entry bundles (only: auditor)"
        )
    wanted = parse_tile_path(path)
    if wanted is None:
        raise ProblemException(
            404, "not a tile path: c2sp.org/tlog-tiles spells them <L>/<N>[.p/<W>] and "
            "entries/<N>[.p/<W>], N in groups of three digits (1234067 is x001/x234/067)",
        )
    tiles = Tiles(db)
    try:
        data = tiles.entries(wanted, ledger.recorder) if wanted.is_entries else tiles.hashes(wanted)
    except TreeDamaged as error:
        raise ProblemException(
            503, f"the Merkle log cannot serve this tile right now: {error}; run `ledger verify`",
        ) from None
    if data is None:
        raise ProblemException(
            404, f"tile {path} is beyond the latest checkpoint ({tiles.signed_size()} leaves)"
        )
    return Response(data, media_type=TILE_TYPE, headers={"Cache-Control": IMMUTABLE})

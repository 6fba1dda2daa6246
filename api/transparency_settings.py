"""The settings of the log's place in the transparency ecosystem (docs/verifying.md): its
origin and its witnesses. Part of the one `Settings` class (api/settings.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from projections.merkle_log.signed_notes import COSIGNATURE_V1, NoteError, Verifier, parse_vkey
from projections.merkle_log.tlog_checkpoint import check_origin


@dataclass(frozen=True)
class Witness:
    """A witness the sealer asks to cosign: its cosignature key and where it listens
    (the C2SP tlog-witness submission prefix; add-checkpoint is below it)."""

    verifier: Verifier
    url: str

    @property
    def name(self) -> str:
        return self.verifier.name


def parse_witness(entry: str) -> Witness:
    """"VKEY URL": a cosignature/v1 verifier key and the witness's submission prefix."""
    parts = entry.split()
    if len(parts) != 2:
        raise ValueError(f"a witness is 'VKEY URL' (its verifier key, a space, its URL): {entry!r}")
    try:
        verifier = parse_vkey(parts[0])
    except NoteError as error:
        raise ValueError(f"witness {parts[0]!r}: {error}") from None
    if verifier.key_type != COSIGNATURE_V1:
        raise ValueError(f"witness {verifier.name}: its key must be a cosignature/v1 (0x04) key")
    if not parts[1].startswith(("https://", "http://")):
        raise ValueError(f"witness {verifier.name}: {parts[1]!r} is not an http(s) URL")
    return Witness(verifier, parts[1].rstrip("/"))


class TransparencySettings(BaseModel):
    log_origin: str | None = Field(
        None, description="the log's name in its C2SP checkpoints, no spaces; unset: chosen "
        "once, at `ledger init` or first start, from LEDGER_PUBLIC_URL's host and a random suffix",
    )
    witnesses: Annotated[list[Witness], NoDecode] = Field(
        [], description="witnesses that cosign each checkpoint: 'VKEY URL' entries, "
        "comma-separated (`ledger witness vkey` prints a witness's VKEY)",
    )
    witness_timeout_seconds: float = Field(10.0, gt=0, description="per add-checkpoint call")

    @field_validator("log_origin")
    @classmethod
    def _origin(cls, origin: str | None) -> str | None:
        if origin is not None:
            try:
                check_origin(origin)
            except NoteError as error:
                raise ValueError(str(error)) from None
        return origin

    @field_validator("witnesses", mode="before")
    @classmethod
    def _witnesses(cls, value: object) -> object:
        if isinstance(value, str):
            return [parse_witness(entry) for entry in value.split(",") if entry.strip()]
        return value

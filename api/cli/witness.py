"""`ledger witness ...`: a small C2SP witness anyone can run (a customer, an auditor).

    ledger witness vkey  --dir DIR --name NAME          its verifier key, for LEDGER_WITNESSES
    ledger witness serve --dir DIR --name NAME --log VKEY [--log VKEY ...]

The directory holds its key (made on first use, 0600) and its state: the latest checkpoint it
cosigned per log (api/witnesses/state.py). `--log` takes what the ledger's `ledger public-key
--vkey` prints; the witness cosigns only checkpoints signed by those keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from projections.merkle_log.signed_notes import Verifier

witness_app = typer.Typer(help="Run a witness that cosigns a ledger's checkpoints.", no_args_is_help=True)

DirOption = typer.Option(..., "--dir", help="the witness's own directory: its key and its state")
NameOption = typer.Option(
    ..., "--name", help="the witness's key name, e.g. witness.example.com/acme (no spaces)")


def _verifier(directory: Path, name: str) -> tuple[Ed25519PrivateKey, Verifier]:
    """The witness's key (made on first use) and its cosignature/v1 verifier; exit 2 if unusable."""
    from api.witnesses.state import witness_key
    from projections.merkle_log.signed_notes import COSIGNATURE_V1, NoteError, verifier_for

    try:
        key = witness_key(directory)
        return key, verifier_for(name, key, COSIGNATURE_V1)
    except (NoteError, ValueError, OSError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None


@witness_app.command("vkey")
def vkey(directory: Path = DirOption, name: str = NameOption) -> None:
    """Print the witness's cosignature/v1 verifier key (type 0x04), making its key if missing."""
    _, verifier = _verifier(directory, name)
    typer.echo(verifier.vkey())


@witness_app.command("serve")
def serve(
    directory: Path = DirOption,
    name: str = NameOption,
    logs: list[str] = typer.Option(..., "--log", help="a log's verifier key (`ledger public-key --vkey`); repeatable"),
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
    port: int = typer.Option(8070, "--port", min=1, max=65535),
    prefix: str = typer.Option("", "--prefix", help="URL prefix of add-checkpoint, e.g. /witness"),
) -> None:
    """Serve C2SP tlog-witness: POST <prefix>/add-checkpoint and GET <prefix>/<origin hash>/checkpoint."""
    import uvicorn

    from api.witnesses.server import witness_app as make_app
    from api.witnesses.state import WitnessState
    from projections.merkle_log.signed_notes import ED25519, NoteError, parse_vkey

    try:
        trusted = [parse_vkey(text) for text in logs]
    except NoteError as error:
        typer.echo(f"Error: --log: {error}", err=True)
        raise typer.Exit(2) from None
    if any(v.key_type != ED25519 for v in trusted):
        typer.echo("Error: --log: a log's key is an Ed25519 (0x01) verifier key", err=True)
        raise typer.Exit(2)
    key, verifier = _verifier(directory, name)
    typer.echo(f"witness {name} on http://{host}:{port}{prefix}")
    typer.echo(f"  its key:  {verifier.vkey()}")
    for log in trusted:
        typer.echo(f"  follows:  {log.name}")
    uvicorn.run(make_app(WitnessState(directory), name, key, trusted, prefix),
                host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    app.add_typer(witness_app, name="witness")

"""`ledger verify`, `ledger seal` and `ledger public-key`: the Merkle log from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from api.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SHOWN_PROBLEMS = 10
PROGRESS_STEP = 500


def _public_key(settings: Settings, path: Path | None):  # -> Ed25519PublicKey
    from api import keyfiles
    from projections.merkle_log.checkpoints import load_public_key

    if path is not None:
        return load_public_key(path.read_bytes())
    if settings.signing_key is None and not (settings.data_dir / keyfiles.SIGNING_KEY_FILE).exists():
        # Generating a fresh key here would only make every signature look forged.
        raise typer.BadParameter(
            "no signing key is configured here: pass the published key with --public-key FILE",
            param_hint="--public-key",
        )
    return keyfiles.signing_key(settings).public_key()


def verify(
    public_key: Path | None = typer.Option(
        None, "--public-key", exists=True, dir_okay=False,
        help="the published checkpoint key (PEM or base64 of 32 raw bytes); default: the configured signing key's",
    ),
    trusted_checkpoint: Path | None = typer.Option(
        None, "--trusted-checkpoint", exists=True, dir_okay=False,
        help="a checkpoint note (as served by /v1/log/checkpoint) kept from before: the log "
        "must still extend it (catches truncation, and a log wiped and sealed again)",
    ),
    witness: list[str] = typer.Option(
        [], "--witness", help="a witness's verifier key (repeatable): the latest checkpoint "
        "must carry its cosignature",
    ),
    quorum: int | None = typer.Option(
        None, "--quorum", help="how many of the --witness keys must have cosigned; default: all",
    ),
) -> None:
    """Recompute the Merkle log from the stored events and check every signed checkpoint, the
    stored interior nodes, the sealer's record, and that nothing waits longer than
    LEDGER_CHECKPOINT_DELAY_SECONDS to be sealed and signed.

    Exits 0 only when everything holds; otherwise 1, naming the first bad place and what is
    wrong (changed, missing, reordered, extra, bad signature, garbled, truncated, overdue)."""
    from rich.console import Console
    from api.cli.progress_bars import over_the_log

    from api.bootstrap import open_stores
    from api.settings import get_settings
    from projections.audit.trusted_checkpoint import UnusableNote, read_trusted
    from projections.audit.verify import verify_log
    from projections.audit.witness_check import witness_problems, witness_verifiers
    from projections.merkle_log.signed_notes import NoteError

    settings = get_settings()
    key = _public_key(settings, public_key)
    try:
        witness_verifiers(witness)
        if quorum is not None and not 1 <= quorum <= len(witness):
            raise ValueError(f"must be between 1 and the number of --witness keys ({len(witness)})")
    except NoteError as error:
        raise typer.BadParameter(str(error), param_hint="--witness") from None
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--quorum") from None
    trusted = None
    if trusted_checkpoint is not None:
        try:
            trusted = read_trusted(trusted_checkpoint.read_text(encoding="utf-8"))
        except (UnusableNote, UnicodeError) as error:
            raise typer.BadParameter(str(error), param_hint="--trusted-checkpoint") from None
    console = Console(soft_wrap=True)
    stores = open_stores(settings)
    try:
        total = stores.ledger.recorder.max_notification_id() or 0
        with over_the_log("verifying events", console) as progress:
            task = progress.add_task("verify", total=total)
            shown = [0]

            def advance(notification_id: int) -> None:
                # Redrawing for every event would cost more than hashing it.
                if notification_id - shown[0] >= PROGRESS_STEP:
                    shown[0] = notification_id
                    progress.update(task, completed=min(notification_id, total))

            report = verify_log(
                stores.ledger.recorder, stores.db, key, on_event=advance,
                delay=settings.checkpoint_delay_seconds, trusted=trusted,
            )
            progress.update(task, completed=total)
        unwitnessed = witness_problems(stores.db, key, witness, quorum) if witness else []
    except Exception as error:
        from projections.storage.follower import database_unreachable

        if database_unreachable(error):
            raise
        # A row garbled past what the checks expect: still a finding, named, not a traceback.
        console.print(f"[red]FAILED[/red] reading the stored log: {type(error).__name__}: "
                      f"{error}", markup=True, highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        stores.close()

    console.print(
        f"events read: {report.events}; sealed leaves checked: {report.sealed}; "
        f"checkpoints checked: {report.checkpoints}; not yet sealed: {report.unsealed}"
    )
    first = report.first
    if first is None and not unwitnessed:
        console.print("[green]OK[/green]: every sealed event matches its leaf, every checkpoint's "
                      "root and signature, every stored node and the sealer's record hold"
                      + (f", and the log extends the trusted checkpoint of size {trusted.tree_size}"
                         if trusted is not None else "")
                      + (f"; {len(witness)} witness key(s) checked" if witness else ""))
        raise typer.Exit(EXIT_OK)
    for line in unwitnessed:
        console.print(f"[red]FAILED[/red] witnesses: {line}", markup=True, highlight=False)
    if first is None:
        raise typer.Exit(EXIT_FAILED)
    console.print(f"[red]FAILED[/red] at {first.describe()}", markup=True, highlight=False)
    others = [p for p in report.problems if p is not first][: SHOWN_PROBLEMS - 1]
    for problem in others:
        console.print(f"  also {problem.describe()}", highlight=False)
    if report.problem_count > len(others) + 1:
        console.print(f"  ... {report.problem_count} problems in all")
    raise typer.Exit(EXIT_FAILED)


def seal() -> None:
    """Seal every stored event not yet in the Merkle log and sign a checkpoint, once."""
    from rich.console import Console

    from api.bootstrap import make_sealer, open_stores
    from api.settings import get_settings
    from projections.merkle_log.sealed_state import StateInconsistent

    settings = get_settings()
    console = Console()
    stores = open_stores(settings)
    try:
        sealer = make_sealer(stores, settings)
        try:
            added = sealer.seal_pending()
            standing_by = not sealer.active
            size = sealer.tree_size
        except StateInconsistent as error:
            # The sealer recorded why it stopped (ledger projections status, /healthz).
            console.print(f"[red]FAILED[/red]: the sealer stopped: {error}", highlight=False)
            raise typer.Exit(EXIT_FAILED) from None
        finally:
            sealer.stop()
    finally:
        stores.close()
    if standing_by:
        console.print("another process holds the sealer lock and seals; nothing done here")
    else:
        console.print(f"sealed {added} new events; the log now holds {size}")


def public_key(
    raw: bool = typer.Option(False, "--raw", help="print the 32 raw bytes in base64 instead of PEM"),
    vkey: bool = typer.Option(
        False, "--vkey", help="print the C2SP verifier key (origin+keyid+base64) of the log's notes"
    ),
) -> None:
    """Print the public key that checks the checkpoints' signatures, to publish to auditors."""
    from api import keyfiles
    from api.settings import get_settings
    from projections.merkle_log.checkpoints import public_key_pem, public_key_raw_base64

    settings = get_settings()
    key = keyfiles.signing_key(settings)
    if vkey:
        typer.echo(log_verifier_key(settings, key))
        return
    typer.echo(public_key_raw_base64(key) if raw else public_key_pem(key).rstrip("\n"))


def log_verifier_key(settings: Settings, key: object) -> str:
    from api.bootstrap import log_origin, open_stores
    from projections.merkle_log.tlog_checkpoint import log_verifier

    stores = open_stores(settings)
    try:
        return log_verifier(log_origin(stores, settings), key).vkey()
    finally:
        stores.close()


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
    app.command("seal")(seal)
    app.command("public-key")(public_key)

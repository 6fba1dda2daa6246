"""`ledger worker`: the projections, the sealer and (optionally) the sweep in a process of their
own, for PostgreSQL deployments whose API processes only answer (LEDGER_RUN_WORKERS=false)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import typer


def worker(
    projections: bool = typer.Option(
        True, "--projections/--no-projections", help="apply the read models"
    ),
    sealer: bool = typer.Option(True, "--sealer/--no-sealer", help="seal the Merkle log"),
    sweep: bool = typer.Option(
        False, "--sweep/--no-sweep", help="also apply what time has made due"
    ),
) -> None:
    """Projections and the sealer in their own process, until SIGTERM or SIGINT.

    PostgreSQL deployments run one or more: of several workers one applies the projections
    and the others stand by, taking over if it dies."""
    import logging

    from rich.console import Console

    from api import logging_setup
    from api.bootstrap import build
    from api.settings import get_settings

    settings = get_settings()
    from api.bootstrap_reads import is_read_only

    if is_read_only(settings):
        Console(stderr=True).print(
            "[red]Error[/red]: a worker writes (projections, checkpoints): give it "
            "LEDGER_DATABASE_URL (the primary) and leave LEDGER_READ_ONLY off", highlight=False,
        )
        raise typer.Exit(2)
    if settings.log_format == "json":
        import logging.config

        from api.json_logs import dict_config

        logging.config.dictConfig(dict_config("json", settings.log_level.upper()))
    else:
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(name)s %(message)s"
        )
    # The worker logs as much as the API: the same scrubbing of secrets and personal data.
    logging_setup.install_redaction(logging_setup.known_secrets(settings))
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    from projections.merkle_log.notes import OriginMismatch

    try:
        container = build(settings, sealer=sealer)
    except OriginMismatch as error:
        Console(stderr=True).print(f"[red]Error[/red]: {error}", highlight=False)
        raise typer.Exit(2) from None
    container.start(projections=projections, sealer=sealer, sweep=sweep)
    from api.metrics.processes import serve_for_worker

    metrics_server = serve_for_worker(settings, container)
    say = _announcer(settings.log_format)
    parts = (("projections", projections), ("sealer", sealer), ("sweep", sweep))
    doing = [name for name, on in parts if on]
    say(
        f"worker ({', '.join(doing) or 'nothing'}) on {_redacted(settings.database_url)}; "
        "stop with SIGTERM"
    )
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        if metrics_server is not None:
            metrics_server.close()
        container.close(sweep_timeout=10)
    say("worker stopped")


def _announcer(log_format: str) -> Callable[[str], None]:
    """How the worker says that it started and stopped: a log record among the JSON lines,
    said at any LEDGER_LOG_LEVEL (as the text form always is), or a line for the eye."""
    if log_format == "json":
        import logging

        log = logging.getLogger("ledger.worker")
        log.setLevel(logging.INFO)
        return log.info
    from rich.console import Console

    return Console(stderr=True).print


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


def register(app: typer.Typer) -> None:
    app.command()(worker)

"""`ledger serve`: the HTTP API under uvicorn, one process or several workers on one port."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import uvicorn


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    workers: int = typer.Option(1, "--workers", min=1, help="uvicorn worker processes"),
    read_only: bool = typer.Option(
        False, "--read-only", help="serve reads only (from LEDGER_READ_DATABASE_URL's replicas): "
        "open nothing for writing, create no table (docs/deploy.md)",
    ),
) -> None:
    """Serve the API. With SQLite it also runs the projections and the sealer in-process."""
    import os

    from rich.console import Console

    from api.bootstrap_reads import is_read_only
    from api.http.header_limits import HeaderLimitedProtocol
    from api.settings import get_settings

    if read_only:
        os.environ["LEDGER_READ_ONLY"] = "true"  # the workers read their settings themselves
        get_settings.cache_clear()
    settings = get_settings()
    console = Console(highlight=False, soft_wrap=True)
    if is_read_only(settings):
        origin = _read_only_origin(settings, console)
    else:
        from api import keyfiles

        keyfiles.ensure_all(settings)  # before the workers fork, so they all read the same keys
        origin = _log_origin(settings, console)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    console.print(f"[bold]Compliance Ledger[/bold] on {base} (store: {settings.database_url})")
    console.print(f"  log:       {origin} (`ledger public-key --vkey` for its verifier key)")
    console.print(f"  API docs:  {base}/docs")
    if settings.uses_identity_provider:
        console.print(f"  tokens:    from {', '.join(settings.oidc_issuer)} for the audience "
                      f"{settings.oidc_audience} (docs/identity.md)")
    else:
        console.print("  a token:   .venv/bin/ledger token --role officer --actor olga")
        console.print(
            "             .venv/bin/ledger token --role customer --actor alice --tenant <id>"
        )
    from api.metrics.processes import before_serving

    before_serving(settings, workers)
    options: dict[str, Any] = {
        "factory": True, "host": host, "port": port, "workers": workers,
        "log_level": settings.log_level.lower(),
        "log_config": _log_config(settings.log_level.upper(), settings.log_format),
        # httptools, with limits on request headers: size (431) and time (slowloris)
        "http": HeaderLimitedProtocol,
    }
    run_uvicorn("api.app:create_app", options)


def run_uvicorn(factory: str, options: dict[str, Any]) -> None:
    """Serves the app that `factory` ("module:function") makes, as the ledger is served: the
    bench serves its ceiling (a trivial endpoint) through this too, so that both are measured
    behind the same server, protocol, loop and sockets."""
    import uvicorn

    if options.get("workers", 1) == 1:
        uvicorn.run(factory, **options)
    else:
        _serve_workers(uvicorn.Config(factory, **options))


def _log_origin(settings: Any, console: Any) -> str:
    """The log's name, chosen before the workers start (so they agree), and a clear refusal
    when LEDGER_LOG_ORIGIN names another log than the store holds."""
    from api.bootstrap import log_origin, open_private_stores
    from projections.merkle_log.notes import OriginMismatch

    stores = open_private_stores(settings)
    try:
        return log_origin(stores, settings)
    except OriginMismatch as error:
        console.print(f"[red]Error[/red]: {error}")
        raise typer.Exit(2) from None
    finally:
        stores.close()


def _read_only_origin(settings: Any, console: Any) -> str:
    """A read-only process makes nothing: the keys and the store must be there already. Said
    once, here, rather than by every worker's failed start."""
    from api import keyfiles
    from api.bootstrap_reads import StoreNotInitialised, open_read_only_stores
    from projections.merkle_log.notes import stored_origin

    missing = keyfiles.missing_for_reads(settings)
    if missing:
        console.print(f"[red]Error[/red]: a read-only process makes no keys; missing: "
                      f"{'; '.join(missing)}. Give it the writing processes' keys.")
        raise typer.Exit(2)
    try:
        stores = open_read_only_stores(settings)
    except (StoreNotInitialised, ValueError) as error:
        console.print(f"[red]Error[/red]: {error}")
        raise typer.Exit(2) from None
    try:
        return f"{stored_origin(stores.db)} (read-only)"
    finally:
        stores.close()


def _log_config(level: str, log_format: str) -> dict[str, Any]:
    """uvicorn's own logging, plus the root logger at LEDGER_LOG_LEVEL, so that the ledger's
    records (projections, the sealer, the sweep) and those of its libraries reach stderr too:
    as JSON lines or as text (LEDGER_LOG_FORMAT, api/json_logs.py). uvicorn applies it in every
    worker process; each record is scrubbed at birth there, by the factory that create_app
    installs (api/logging_setup.py)."""
    from api.json_logs import dict_config

    return dict_config(log_format, level)


def _serve_workers(config: uvicorn.Config) -> None:
    """uvicorn's supervisor (restarts, signals), but every worker listens on a socket of its
    own (SO_REUSEPORT) and the kernel spreads new connections over them. With uvicorn's one
    shared socket, whichever worker wakes first accepts every waiting connection: 32
    keep-alive clients that connect at once all landed on one worker, the others idled."""
    import logging

    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    # The parent binds (without listening) first: a port in use fails here, once, with the
    # usual message, and the port stays ours while workers come and go.
    try:
        reserved = _reserve_port(config.host, config.port)
    except OSError as error:
        logging.getLogger("uvicorn.error").error(error)
        raise SystemExit(STARTUP_FAILURE) from None
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", config.host, config.port
    )
    try:
        # Pickled into each spawned worker, where unpickling opens that worker's own socket.
        listener: Any = _OwnListener(config.host, config.port)
        Multiprocess(config, sockets=[listener]).run()
    except KeyboardInterrupt:
        pass
    finally:
        reserved.close()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _reserve_port(host: str, port: int) -> socket.socket:
    # SO_REUSEPORT would also share the port with another server that set it (a second
    # `ledger serve` on the same port): an ordinary bind first, which shares with nobody,
    # keeps "address already in use" for that.
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    return _reuse_port_socket(host, port)


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets
    # that say they are TCP. A socket re-made in a spawned worker from uvicorn's shared one
    # says 0, so every answer with a separate body write waited ~40 ms for a delayed ACK.
    sock = socket.socket(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _OwnListener:
    """Stands for "a socket of your own on host:port" in the list uvicorn hands each worker."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return _reuse_port_socket, (self.host, self.port)


def register(app: typer.Typer) -> None:
    app.command()(serve)

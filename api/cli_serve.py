"""`ledger serve` (the HTTP API under uvicorn) and `ledger token` (a bearer token for trying it)."""

from __future__ import annotations

import typer

from api.auth import Role


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    workers: int = typer.Option(1, "--workers", min=1, help="uvicorn worker processes"),
) -> None:
    """Serve the API. With SQLite it also runs the projections and the sealer in-process."""
    import uvicorn
    from rich.console import Console

    from api import keyfiles
    from api.settings import get_settings

    settings = get_settings()
    keyfiles.ensure_all(settings)  # before the workers fork, so they all read the same keys
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]Compliance Ledger[/bold] on {base} (store: {settings.database_url})")
    console.print(f"  API docs:  {base}/docs")
    console.print("  a token:   .venv/bin/ledger token --role officer --actor olga")
    console.print(
        "             .venv/bin/ledger token --role customer --actor alice --tenant <id>"
    )
    uvicorn.run(
        "api.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_level=settings.log_level.lower(),
    )


def token(
    role: Role = typer.Option(..., "--role", help="staff, customer, officer, system or auditor"),
    actor: str = typer.Option(..., "--actor", help="who the token speaks for (its `sub`)"),
    tenant: str | None = typer.Option(None, "--tenant", help="the tenant id (customers only)"),
    ttl: int = typer.Option(3600, "--ttl", min=1, help="seconds until it expires"),
    login_link: bool = typer.Option(
        False, "--login-link",
        help="customers: print a signed link that logs into the portal instead of the token",
    ),
    link_ttl: int = typer.Option(900, "--link-ttl", min=1, help="seconds the link stays valid"),
) -> None:
    """Print a bearer token signed with the configured secret (or a portal login link)."""
    from api.auth import mint_token
    from api.portal.login_links import mint_login_link
    from api.settings import get_settings

    settings = get_settings()
    try:
        token = mint_token(settings, role.value, actor, tenant=tenant, ttl=ttl)
        typer.echo(mint_login_link(settings, token, ttl_seconds=link_ttl) if login_link else token)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(token)

"""`ledger token`: a bearer token signed with the configured secret, or a portal login link."""

from __future__ import annotations

import typer

from api.http.auth import Role


def token(
    role: Role = typer.Option(
        ..., "--role", help="staff, customer, officer, system, auditor, or witness (reads "
        "only the log's checkpoint and hash tiles)",
    ),
    actor: str = typer.Option(..., "--actor", help="who the token speaks for (its `sub`)"),
    tenant: str | None = typer.Option(None, "--tenant", help="the tenant id (customers only)"),
    ttl: int = typer.Option(3600, "--ttl", min=1, help="seconds until it expires"),
    email: str | None = typer.Option(
        None, "--email", help="the caller's e-mail address (its `email` claim): where the "
        "ledger mails what this caller must hear (an access request's decision)",
    ),
    login_link: bool = typer.Option(
        False, "--login-link",
        help="customers: print a signed link that logs into the portal instead of the token",
    ),
    link_ttl: int = typer.Option(900, "--link-ttl", min=1, help="seconds the link stays valid"),
) -> None:
    """Print a bearer token signed with the configured secret (or a portal login link).
    Refuses when there is no secret yet: run `ledger init` first."""
    from api import keyfiles
    from api.http.auth import mint_token
    from api.portal.login_links import mint_login_link
    from api.settings import get_settings

    settings = get_settings()
    # With a provider or RS256, mint_token itself says why it cannot.
    if not (settings.auth_public_key or settings.uses_identity_provider):
        try:
            keyfiles.existing_auth_secret(settings)
        except keyfiles.NoAuthSecret as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(1) from None
    try:
        token = mint_token(settings, role.value, actor, tenant=tenant, ttl=ttl, email=email)
        typer.echo(mint_login_link(settings, token, ttl_seconds=link_ttl) if login_link else token)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def register(app: typer.Typer) -> None:
    app.command()(token)

"""The portal's notifications page: whom the tenant's mail goes to (its approvers, and the
language), its webhook subscriptions (add, disable, enable, delete, a new secret), and what was
delivered recently, with a redelivery button.

The rules are the HTTP API's (api/services/subscriptions.py; the forms are checked with the API's
own body schemas), so a form the API would refuse is refused here with the same words, shown on
the page with the API's status, never a 500. A new signing secret is shown once, on the page that
answers the form, and is not kept anywhere the page could show it again: that answer is not
a redirect, and like every portal page it is never cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from domain.errors import DomainError
from domain.notifications import CUSTOMER_NOTICES

from api.http.problems import domain_status
from api.portal.render import page_router, refuse_form, render, see_other, session_ended
from api.portal.services import FormField, PortalServices, ServicesDep, as_caller
from api.schemas.webhooks import ContactsIn, WebhookCreate
from api.services.subscriptions import CallerWebhooks, save_contacts
from api.services.visibility import closed_status
from projections.read_models.tables import moment
from projections.storage.portal_sessions import PortalSession

router = page_router()
PAGE = "/portal/webhooks"
HERE = "/webhooks"  # under the portal's /portal (api/portal/router.py)
RECENT = 20
NOTICES = {
    "contacts": "Your approvers and language are saved.",
    "disabled": "The subscription is disabled: nothing is sent to it until you enable it.",
    "enabled": "The subscription is active again.",
    "deleted": "The subscription is deleted.",
    "redelivering": "The delivery will be sent again in a moment, under the same id.",
}
FormList = Annotated[list[str] | None, Form()]


class FormRefused(Exception):
    """A form the API's body schema refuses: its first complaint, in words for the page."""

    def __init__(self, error: ValidationError) -> None:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or "form"
        super().__init__(f"{field}: {first.get('msg', 'is not valid')}")
        self.detail = str(self)


def _webhooks(request: Request, services: PortalServices, session: PortalSession) -> CallerWebhooks:
    container = request.app.state.container
    return CallerWebhooks(
        as_caller(session), services.ledger, container.subscriptions(), container.deliveries(),
        container.contacts(), services.settings.webhook_allowed_hosts,
    )


@router.get(HERE, response_class=HTMLResponse)
def webhooks_page(request: Request, services: ServicesDep, notice: str | None = None) -> Response:
    session = services.session(request)
    if session is None:
        return see_other("/portal/login")
    return _page(request, services, session, notice=NOTICES.get(notice or ""))


def _page(
    request: Request, services: PortalServices, session: PortalSession, status: int = 200,
    error: str | None = None, notice: str | None = None, **shown: Any,
) -> HTMLResponse:
    closed = closed_status(services.reads, session.tenant_id)
    if closed is not None:
        return render(
            request, "portal/webhooks.html", status, session=session, active="webhooks",
            closed=closed, error=error, notice=notice,
        )
    webhooks = _webhooks(request, services, session)
    subscriptions = webhooks.listed()
    urls = {item.id: item.url for item in subscriptions}
    contacts = webhooks.contacts.contacts(session.tenant_id)
    return render(
        request, "portal/webhooks.html", status, session=session, active="webhooks",
        error=error, notice=notice, contacts=contacts, notice_types=CUSTOMER_NOTICES,
        subscriptions=[{**vars(item), "created_at": moment(item.created_at)}
                       for item in subscriptions],
        deliveries=[{**vars(item), "to": urls.get(item.subscription_id, item.recipient or "")}
                    for item in webhooks.recent_deliveries(RECENT)],
        **shown,
    )


def _form(
    request: Request, services: PortalServices, csrf_token: str | None,
    act: Callable[[CallerWebhooks], str | dict[str, Any]],
) -> Response:
    """Runs a form's action for the session's customer: a notice to redirect with, or (a new
    secret) what the answering page shows once."""
    session = services.session(request)
    if session is None:
        return session_ended(request)
    if not session.accepts(csrf_token):
        return refuse_form(request, session)
    try:
        done = act(_webhooks(request, services, session))
    except DomainError as error:
        return _page(request, services, session, domain_status(error), error=error.detail)
    except FormRefused as error:
        return _page(request, services, session, 422, error=error.detail)
    if isinstance(done, dict):
        return _page(request, services, session, **done)
    return see_other(f"{PAGE}?notice={done}")


def _checked(make: Callable[[], Any]) -> Any:
    try:
        return make()
    except ValidationError as error:
        raise FormRefused(error) from None


def _subscription_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        return UUID(int=0)  # no such subscription: "not found", as any other's


@router.post(f"{HERE}/contacts")
def contacts_form(
    request: Request, services: ServicesDep, csrf_token: FormField = None,
    approver_emails: FormField = None, language: FormField = None,
) -> Response:
    def act(webhooks: CallerWebhooks) -> str:
        lines = [line.strip() for line in (approver_emails or "").splitlines() if line.strip()]
        body = _checked(lambda: ContactsIn(approver_emails=lines, language=language or "en"))
        tenant = webhooks.caller.tenant
        assert tenant is not None  # a portal session is always a tenant's customer's
        save_contacts(
            services.ledger, webhooks.contacts, tenant, body.approver_emails, body.language
        )
        return "contacts"

    return _form(request, services, csrf_token, act)


@router.post(HERE)
def add_subscription(
    request: Request, services: ServicesDep, csrf_token: FormField = None,
    url: FormField = None, types: FormList = None, description: FormField = None,
) -> Response:
    def act(webhooks: CallerWebhooks) -> dict[str, Any]:
        body = _checked(lambda: WebhookCreate(
            url=(url or "").strip(), types=types or [],
            description=(description or "").strip() or None,
        ))
        made, secret = webhooks.create(body.url, list(body.types), body.description)
        return {"new_secret": secret, "secret_for": made.url,
                "notice": "The subscription is made. Copy its secret now: it is shown only once."}

    return _form(request, services, csrf_token, act)


def _on_subscription(
    notice: str, change: Callable[[CallerWebhooks, UUID], Any]
) -> Callable[..., Response]:
    def route(
        request: Request, subscription_id: str, services: ServicesDep, csrf_token: FormField = None,
    ) -> Response:
        def act(webhooks: CallerWebhooks) -> str:
            change(webhooks, _subscription_id(subscription_id))
            return notice

        return _form(request, services, csrf_token, act)

    return route


router.post(f"{HERE}/{{subscription_id}}/disable", name="disable_subscription")(
    _on_subscription("disabled", lambda w, sub: w.change(sub, status="disabled"))
)
router.post(f"{HERE}/{{subscription_id}}/enable", name="enable_subscription")(
    _on_subscription("enabled", lambda w, sub: w.change(sub, status="active"))
)
router.post(f"{HERE}/{{subscription_id}}/delete", name="delete_subscription")(
    _on_subscription("deleted", lambda w, sub: w.delete(sub))
)


@router.post(f"{HERE}/{{subscription_id}}/rotate-secret")
def rotate_secret(
    request: Request, subscription_id: str, services: ServicesDep, csrf_token: FormField = None,
) -> Response:
    def act(webhooks: CallerWebhooks) -> dict[str, Any]:
        sub = _subscription_id(subscription_id)
        secret = webhooks.rotate_secret(sub)
        return {"new_secret": secret, "secret_for": webhooks.get(sub).url,
                "notice": "A new secret is made; the old one signs nothing from now on. "
                "Copy it now: it is shown only once."}

    return _form(request, services, csrf_token, act)


@router.post("/deliveries/{delivery_id}/redeliver")
def redeliver(
    request: Request, delivery_id: str, services: ServicesDep, csrf_token: FormField = None,
) -> Response:
    def act(webhooks: CallerWebhooks) -> str:
        webhooks.redeliver(delivery_id[:100])
        return "redelivering"

    return _form(request, services, csrf_token, act)

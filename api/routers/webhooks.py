"""Webhook subscriptions and their deliveries: a customer's for its tenant, an officer's for the
vendor; the notice types one may subscribe to. Who sees and changes what is
api/services/subscriptions.py's; payloads, signatures and retries are docs/notifications.md's.

Subscriptions are not events: they are the ledger's settings for telling people, kept beside the
log (projections/outbox/), so their writes answer no `position`.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response

from api.http.auth import Caller, Role
from api.http.deps import PARTICIPANTS, ContainerDep, CurrentLedgerDep, allow
from api.http.idempotency import IdempotentRoute
from api.http.secret_answers import SecretShownOnce
from api.http.problems import documented
from api.schemas.webhooks import (
    AttemptOut,
    DeliveryDetail,
    DeliveryList,
    DeliveryOut,
    NoticeTypeList,
    NoticeTypeOut,
    SecretOut,
    WebhookChange,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
)
from api.services.subscriptions import CallerWebhooks
from domain.notifications import PROPAGATION_NOTICES, NoticeType, subscribable_by
from projections.outbox.deliveries import Delivery
from projections.outbox.subscriptions import Subscription
from projections.read_models.tables import moment

router = APIRouter(
    tags=["webhooks"], route_class=IdempotentRoute, responses=documented(401, 403, 404, 422)
)
Manager = Annotated[Caller, Depends(allow(Role.CUSTOMER, Role.OFFICER))]
Anyone = Annotated[Caller, Depends(allow(*PARTICIPANTS))]
WebhookId = Annotated[UUID, Path(description="the subscription's id")]
DeliveryId = Annotated[
    str, Path(max_length=100, pattern="^[A-Za-z0-9_-]+$", description="the `webhook-id`")
]
RECENT = 50


async def caller_webhooks(caller: Manager, container: ContainerDep) -> CallerWebhooks:
    return CallerWebhooks(
        caller, container.stores.ledger, container.subscriptions(), container.deliveries(),
        container.contacts(), container.settings.webhook_allowed_hosts,
    )


WebhooksDep = Annotated[CallerWebhooks, Depends(caller_webhooks)]


def _out(item: Subscription) -> WebhookOut:
    return WebhookOut(
        id=item.id, tenant_id=item.tenant_id, url=item.url, types=list(item.types),
        description=item.description, status=item.status, disabled_reason=item.disabled_reason,
        created_at=moment(item.created_at), created_by=item.created_by,
    )


def _delivery(item: Delivery) -> dict[str, object]:
    return dict(
        id=item.id, channel=item.channel, subscription_id=item.subscription_id,
        recipient=item.recipient, type=item.type, tenant_id=item.tenant_id,
        about_id=item.about_id, status=item.status, attempt_count=item.attempts,
        next_attempt_at=item.next_attempt_at, created_at=item.created_at,
        last_attempt_at=item.last_attempt_at, delivered_at=item.delivered_at,
        last_status=item.last_status, last_error=item.last_error,
    )


@router.post("/v1/webhooks", status_code=201, dependencies=SecretShownOnce,
             responses=documented(409))
def create_webhook(body: WebhookCreate, webhooks: WebhooksDep) -> WebhookCreated:
    """Subscribe a URL: a customer for its tenant, an officer for the vendor (every tenant).
    The answer holds the signing secret, once; it hears what is recorded from now on."""
    made, secret = webhooks.create(body.url, list(body.types), body.description)
    return WebhookCreated(**_out(made).model_dump(), secret=secret)


@router.get("/v1/webhooks")
def list_webhooks(webhooks: WebhooksDep, ledger: CurrentLedgerDep) -> WebhookList:
    """The caller's subscriptions: its tenant's, or the vendor's. Never their secrets."""
    return WebhookList(items=[_out(item) for item in webhooks.listed()])


@router.get("/v1/webhooks/{webhook_id}")
def get_webhook(
    webhook_id: WebhookId, webhooks: WebhooksDep, ledger: CurrentLedgerDep
) -> WebhookOut:
    return _out(webhooks.get(webhook_id))


@router.patch("/v1/webhooks/{webhook_id}", responses=documented(409))
def change_webhook(
    webhook_id: WebhookId, body: WebhookChange, webhooks: WebhooksDep
) -> WebhookOut:
    """Change its URL, types or description; `status` disables or enables it (one disabled
    because its receiver answered 410 is enabled the same way)."""
    given = body.model_fields_set
    changed = webhooks.change(
        webhook_id, url=body.url, types=list(body.types) if body.types else None,
        status=body.status, **({"description": body.description} if "description" in given else {}),
    )
    return _out(changed)


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, response_class=Response,
               responses=documented(409))
def delete_webhook(webhook_id: WebhookId, webhooks: WebhooksDep) -> Response:
    """Nothing more is sent to it; its deliveries stay listed under their ids."""
    webhooks.delete(webhook_id)
    return Response(status_code=204)


@router.post("/v1/webhooks/{webhook_id}/rotate-secret", dependencies=SecretShownOnce,
             responses=documented(409))
def rotate_secret(webhook_id: WebhookId, webhooks: WebhooksDep) -> SecretOut:
    """A new signing secret, shown once; the old one signs nothing from now on."""
    return SecretOut(id=webhook_id, secret=webhooks.rotate_secret(webhook_id))


@router.get("/v1/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: WebhookId, webhooks: WebhooksDep, ledger: CurrentLedgerDep,
    limit: Annotated[int, Query(ge=1, le=200, description="how many, newest first")] = RECENT,
) -> DeliveryList:
    """What was sent to it recently, newest first."""
    found = webhooks.deliveries_of(webhook_id, limit)
    return DeliveryList(items=[DeliveryOut(**_delivery(item)) for item in found])


@router.get("/v1/webhook-deliveries/{delivery_id}")
def get_delivery(
    delivery_id: DeliveryId, webhooks: WebhooksDep, ledger: CurrentLedgerDep
) -> DeliveryDetail:
    """One delivery, the body its receiver gets, and every attempt: when, the answer's status,
    how long it took, what went wrong."""
    found, attempts = webhooks.delivery(delivery_id)
    return DeliveryDetail(
        **_delivery(found), payload=found.payload,
        attempts=[AttemptOut(attempt=a.attempt, at=a.at, status=a.status,
                             latency_ms=a.latency_ms, error=a.error) for a in attempts],
    )


@router.post("/v1/webhook-deliveries/{delivery_id}/redeliver", status_code=202,
             responses=documented(409))
def redeliver(delivery_id: DeliveryId, webhooks: WebhooksDep) -> DeliveryOut:
    """Send it again, under the same `webhook-id`, as soon as the outbox looks (409 while it
    is still being tried, or while its subscription is disabled)."""
    return DeliveryOut(**_delivery(webhooks.redeliver(delivery_id)))


NOTICE_DESCRIPTIONS = {
    NoticeType.ACCESS_REQUESTED: "a staff member asked for access to the tenant's data",
    NoticeType.ACCESS_APPROVED: "the tenant's customer approved an access request",
    NoticeType.ACCESS_DENIED: "the tenant's customer denied an access request",
    NoticeType.ACCESS_EXPIRED: "an access request or grant ran out",
    NoticeType.ACCESS_REVOKED: "a grant was revoked",
    NoticeType.ACCESS_USED: "staff looked at the tenant's data under a grant",
    NoticeType.ACCESS_REFUSED: "staff were refused access to the tenant's data",
    NoticeType.INCIDENT_REPORTED: "a security incident touches the tenant",
    NoticeType.INCIDENT_CUSTOMER_NOTIFIED: "the tenant was told of an incident (recorded)",
    NoticeType.DISCLOSURE_RECORDED: "the tenant's data went to a third party",
    NoticeType.DATA_REQUEST_DUE_SOON: "a subject's request is due within 7 days",
    NoticeType.DATA_REQUEST_OVERDUE: "a subject's request is overdue",
    NoticeType.INCIDENT_AUTHORITY_DUE_SOON: "24 hours are left to tell the authority of an incident",
    NoticeType.INCIDENT_OVERDUE: "the authority was not told of an incident within 72 hours",
    NoticeType.ERASURE_FULFILLED: "a subject's erasure was fulfilled",
    NoticeType.PROPAGATION_CONFIRMED: "a registered system confirmed it applied a change",
    NoticeType.PROPAGATION_FAILED: "a registered system could not apply a change",
    NoticeType.CONSENT_CHANGED: "a subject's consent changed: apply it (registered systems)",
    NoticeType.ERASURE_REQUESTED: "erase a subject's data and confirm (registered systems)",
    NoticeType.RECTIFICATION_REQUESTED: "correct a subject's data and confirm (registered systems)",
}


@router.get("/v1/notice-types")
def notice_types(caller: Anyone, ledger: CurrentLedgerDep) -> NoticeTypeList:
    """Every notice the ledger sends, what it means, and who may subscribe a webhook to it."""
    def subscribers(kind: NoticeType) -> list[str]:
        roles = [r.value for r in (Role.CUSTOMER, Role.OFFICER) if kind in subscribable_by(r)]
        return roles + (["system"] if kind in PROPAGATION_NOTICES else [])

    return NoticeTypeList(items=[
        NoticeTypeOut(type=kind.value, description=NOTICE_DESCRIPTIONS.get(kind, kind.value),
                      subscribers=subscribers(kind))
        for kind in NoticeType
    ])

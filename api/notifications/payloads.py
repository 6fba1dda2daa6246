"""What a webhook receiver gets: a thin body, as Standard Webhooks recommends. The type, the
ids, the log position, the time and a link to read the rest through the API with the
receiver's own token; never a name, an address or a reason, which would leave the ledger with
every delivery and could not be erased from the receivers' logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.notifications import PROPAGATION_NOTICES, NoticeType
from projections.outbox.deliveries import Addressee, Notice


def link(public_url: str, notice: Notice) -> str:
    """Where the thing a notice is about is read (by whoever may read it)."""
    base, about = public_url.rstrip("/"), notice.about_id
    kind = notice.type
    if kind.startswith("access."):
        return f"{base}/v1/access-requests/{about}"
    if kind.startswith("incident."):
        return f"{base}/v1/incidents/{about}"
    if kind == NoticeType.DISCLOSURE_RECORDED:
        return f"{base}/v1/tenants/{notice.tenant_id}/disclosures"
    if kind == NoticeType.CONSENT_CHANGED:
        return f"{base}/v1/subjects/{notice.subject_id}/consents/{notice.data.get('purpose')}"
    if kind == NoticeType.ERASURE_FULFILLED and notice.data.get("request_id"):
        return f"{base}/v1/requests/{notice.data['request_id']}"
    if kind == NoticeType.ERASURE_FULFILLED:
        return f"{base}/v1/subjects/{notice.subject_id}"
    return f"{base}/v1/requests/{notice.data.get('request_id', about)}"


def webhook_body(public_url: str, notice: Notice, delivery_id: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": notice.about_id, "position": notice.position, "link": link(public_url, notice),
    }
    if notice.tenant_id is not None:
        data["tenant_id"] = str(notice.tenant_id)
    if notice.subject_id is not None:
        data["subject_id"] = str(notice.subject_id)
    for kept in ("request_id", "system_id", "purpose", "channel", "status", "severity"):
        if notice.data.get(kept) is not None:
            data[kept] = notice.data[kept]
    if notice.type in PROPAGATION_NOTICES:
        base = public_url.rstrip("/")
        data["propagation_id"] = delivery_id
        data["confirm_url"] = f"{base}/v1/propagations/{delivery_id}/confirm"
    return {"type": notice.type, "timestamp": notice.occurred_at.isoformat(), "data": data}


def mail_body(public_url: str, notice: Notice, delivery_id: str) -> dict[str, Any]:
    """What an e-mail delivery keeps to write its message from: the webhook's body and what
    the notice knew (kept in the ledger's own database only, never sent as it is)."""
    body = webhook_body(public_url, notice, delivery_id)
    body["data"].update(notice.data)
    if notice.requester:
        body["data"]["requester"] = notice.requester
    return body


def payload_for(public_url: str) -> Callable[[Notice, Addressee, str], dict[str, Any]]:
    """The payload maker `DeliveryStore.fan_out` takes."""

    def payload(notice: Notice, addressee: Addressee, delivery_id: str) -> dict[str, Any]:
        if addressee.channel == "email":
            return mail_body(public_url, notice, delivery_id)
        return webhook_body(public_url, notice, delivery_id)

    return payload

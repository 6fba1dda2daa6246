"""Every route × every role, with the exact status each must get (DESIGN.md §2 and §6).

Roles, in the order of each row's expectations: no token, staff (the requester "sam"), the
customer of the tenant concerned, a customer of another tenant, officer, system, auditor,
witness. A role that may not do something gets 403 whatever it names; a customer naming another
tenant's thing gets 404 (never 403); a person without a token gets 401 everywhere but /healthz
and the one-click unsubscribe link. A witness reads the log's checkpoint and hash tiles, and
nothing else.

Checks that change state run on a fresh scene each, so every expectation is about the role
alone, not about what an earlier case left behind.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from uuid import UUID

from api.services.unsubscribe import mint_token, unsubscribe_secret
from projections.outbox.deliveries import DELIVERED, Addressee, Notice, delivery_id
from tests.e2e.conftest import ROLES, Scene, World

GIVEN = {"status": "given", "notice_version": "2026-01", "method": "web_form"}
ACCESS = {"scope": "read", "resources": ["orders"], "reason": "ticket", "duration_minutes": 60}
DISCLOSURE = {"recipient": "Court", "legal_basis": "court_order", "reference": "C-17"}
INCIDENT = {"title": "Leak", "description": "d", "severity": "low", "tenant_ids": ["{T}"]}
NONE_OWN_OTHER = "401 403 200 404 200 403 200 403"  # readers of a tenant's things
OFFICER_ONLY = "401 403 403 403 200 403 403 403"
# A public address written as one, so that no name has to resolve for the target check.
WEBHOOK = {"url": "https://93.184.215.14/ledger", "types": ["access.requested"]}
OWN_WEBHOOK = "401 403 200 404 404 403 403 403"  # a tenant's: its customer's alone
CONTACTS = {"approver_emails": ["ciso@own.example"], "language": "nl"}
SITE_ORIGIN = "https://shop.example"
VISITOR = "bWF0cml4LXZpc2l0b3ItaWQtMQ"
CHOICE = {"visitor_id": VISITOR, "analytics": True, "tracking": False, "notice_version": "2026-03"}

# (method, path, body, expected status per role in ROLES order)
MATRIX: list[tuple[str, str, Any, str]] = [
    ("GET", "/healthz", None, "200 200 200 200 200 200 200 200"),
    # Tenants
    ("POST", "/v1/tenants", {"name": "New"}, "401 403 403 403 201 403 403 403"),
    ("GET", "/v1/tenants", None, "401 403 403 403 200 403 200 403"),
    ("GET", "/v1/tenants/{T}", None, NONE_OWN_OTHER),
    ("POST", "/v1/tenants/{T}/terminate", None, OFFICER_ONLY),
    ("POST", "/v1/tenants/{X}/reactivate", None, OFFICER_ONLY),
    ("POST", "/v1/tenants/{T}/location", {"location": "IE"}, OFFICER_ONLY),
    # Subjects and consent
    ("POST", "/v1/subjects", {"tenant_id": "{T}", "name": "Jan", "email": "jan@example.org"},
     "401 403 403 403 201 201 403 403"),
    ("GET", "/v1/subjects", None, "401 403 200 200 200 403 200 403"),
    ("GET", "/v1/subjects?tenant_id={T}", None, NONE_OWN_OTHER),
    ("GET", "/v1/subjects/{S}?reason=matrix", None, NONE_OWN_OTHER),
    ("GET", "/v1/subjects/{S}?as_of=2026-01-05T09:00:00Z&reason=matrix", None, NONE_OWN_OTHER),
    ("PATCH", "/v1/subjects/{S}", {"phone": "+31 20 123 4567"}, OFFICER_ONLY),
    ("PUT", "/v1/subjects/{S}/consents/profiling", GIVEN, "401 403 403 403 200 200 403 403"),
    ("GET", "/v1/subjects/{S}/consents/info_mail", None, "401 403 403 403 200 200 200 403"),
    ("GET", "/v1/subjects/{S}/history?reason=matrix", None, "401 403 403 403 200 403 200 403"),
    ("GET", "/v1/subjects/{S}/export?format=json&reason=matrix", None, OFFICER_ONLY),
    ("GET", "/v1/subjects/{S}/consent-receipts", None, "401 403 403 403 200 403 200 403"),
    ("GET", "/v1/subjects/{S}/consent-receipts/{S}:2", None, "401 403 403 403 200 403 200 403"),
    ("POST", "/v1/subjects/{S}/unsubscribe-links", {"purpose": "info_mail"},
     "401 403 403 403 403 201 403 403"),
    # The one-click link: anyone may use it, token or not (the link is the authority)
    ("GET", "/v1/unsubscribe/{LINK}", None, "200 200 200 200 200 200 200 200"),
    ("POST", "/v1/unsubscribe/{LINK}", None, "200 200 200 200 200 200 200 200"),
    # Subjects' requests
    ("POST", "/v1/subjects/{S}/requests", {"kind": "objection", "channel": "email"},
     "401 403 403 403 201 201 403 403"),
    ("GET", "/v1/requests", None, "401 403 403 403 200 403 200 403"),
    ("GET", "/v1/requests/{D}", None, "401 403 403 403 200 403 200 403"),
    ("POST", "/v1/requests/{D}/verify-identity", {"method": "passport"}, OFFICER_ONLY),
    ("POST", "/v1/requests/{D}/extend", {"months": 1, "reason": "ten years of records"}, OFFICER_ONLY),
    ("POST", "/v1/requests/{P}/quote", {"amount_cents": 1000, "currency": "EUR"}, OFFICER_ONLY),
    ("POST", "/v1/requests/{Q}/accept-quote", None, OFFICER_ONLY),
    ("POST", "/v1/requests/{Q}/decline-quote", None, OFFICER_ONLY),
    ("POST", "/v1/requests/{V}/fulfil", None, OFFICER_ONLY),
    # Before it is fulfilled there is nothing to download: the officer passes the role gate.
    ("GET", "/v1/requests/{V}/delivery", None, "401 403 403 403 404 403 403 403"),
    ("POST", "/v1/requests/{D}/reject", {"reason": "identity not proven"}, OFFICER_ONLY),
    # Staff access
    ("POST", "/v1/tenants/{T}/access-requests", ACCESS, "401 201 403 403 403 403 403 403"),
    ("GET", "/v1/tenants/{T}/access-requests", None, "401 200 200 404 200 403 200 403"),
    ("GET", "/v1/access-requests/{R}", None, "401 200 200 404 200 403 200 403"),
    ("POST", "/v1/access-requests/{R}/approve", None, "401 403 200 404 403 403 403 403"),
    ("POST", "/v1/access-requests/{R}/deny", {"reason": "not now"},
     "401 403 200 404 403 403 403 403"),
    ("POST", "/v1/access-requests/{G}/revoke", {"reason": "done"},
     "401 200 200 404 403 403 403 403"),
    ("POST", "/v1/access-requests/{G}/accesses", {"resource": "orders/1", "action": "read"},
     "401 201 403 403 403 403 403 403"),
    ("GET", "/v1/tenants/{T}/access-log", None, NONE_OWN_OTHER),
    ("GET", "/v1/tenants/{T}/access-log?format=csv", None, NONE_OWN_OTHER),
    # Disclosures and incidents
    ("POST", "/v1/tenants/{T}/disclosures", DISCLOSURE, "401 403 403 403 201 403 403 403"),
    ("GET", "/v1/tenants/{T}/disclosures", None, NONE_OWN_OTHER),
    ("POST", "/v1/incidents", INCIDENT, "401 403 403 403 201 403 403 403"),
    ("POST", "/v1/incidents/{I}/notifications", {"recipient": "customer", "tenant_id": "{T}"},
     "401 403 403 403 201 403 403 403"),
    ("GET", "/v1/incidents", None, "401 403 200 200 200 403 200 403"),
    ("GET", "/v1/incidents/{I}", None, NONE_OWN_OTHER),
    # Auditors' proofs (the verifiable-history router)
    ("GET", "/v1/audit/events", None, "401 403 403 403 403 403 200 403"),
    # The log as tiles (c2sp.org/tlog-tiles): hashes for everyone, the entries for auditors
    ("GET", "/v1/log/checkpoint", None, "401 200 200 200 200 200 200 200"),
    ("GET", "/v1/log/tile/0/000.p/1", None, "401 200 200 200 200 200 200 200"),
    ("GET", "/v1/log/tile/entries/000.p/1", None, "401 403 403 403 403 403 200 403"),
    # Bulk consent import
    ("POST", "/v1/consents:batch", {"decisions": [{"subject_id": "{S}", **GIVEN, "purpose": "profiling"}]},
     "401 403 403 403 200 200 403 403"),
    # Notifications: webhook subscriptions ({W}: the own tenant's; {M}: a delivery made to it)
    ("POST", "/v1/webhooks", WEBHOOK, "401 403 201 201 201 403 403 403"),
    ("GET", "/v1/webhooks", None, "401 403 200 200 200 403 403 403"),
    ("GET", "/v1/webhooks/{W}", None, OWN_WEBHOOK),
    ("PATCH", "/v1/webhooks/{W}", {"description": "on call"}, OWN_WEBHOOK),
    ("DELETE", "/v1/webhooks/{W}", None, "401 403 204 404 404 403 403 403"),
    ("POST", "/v1/webhooks/{W}/rotate-secret", None, OWN_WEBHOOK),
    ("GET", "/v1/webhooks/{W}/deliveries", None, OWN_WEBHOOK),
    # The outbox is the vendor's: officers see every delivery.
    ("GET", "/v1/webhook-deliveries/{M}", None, "401 403 200 404 200 403 403 403"),
    ("POST", "/v1/webhook-deliveries/{M}/redeliver", None, "401 403 202 404 202 403 403 403"),
    ("GET", "/v1/notice-types", None, "401 200 200 200 200 200 200 403"),
    ("GET", "/v1/tenants/{T}/contacts", None, "401 403 200 404 200 403 403 403"),
    ("PUT", "/v1/tenants/{T}/contacts", CONTACTS, "401 403 200 404 200 403 403 403"),
    # The consent banner: its sites (officers; auditors read), linking a visitor to a subject
    # (officers and systems), and its public endpoints ({K}: a site, {KEY}: its key)
    ("POST", "/v1/sites", {"name": "Shop", "origins": [SITE_ORIGIN]},
     "401 403 403 403 201 403 403 403"),
    ("GET", "/v1/sites", None, "401 403 403 403 200 403 200 403"),
    ("GET", "/v1/sites/{K}", None, "401 403 403 403 200 403 200 403"),
    ("PATCH", "/v1/sites/{K}", {"name": "Shop"}, OFFICER_ONLY),
    ("DELETE", "/v1/sites/{K}", None, OFFICER_ONLY),
    ("POST", "/v1/subjects/{S}/visitors", {"site_id": "{K}", "visitor_id": VISITOR},
     "401 403 403 403 201 201 403 403"),
    ("GET", "/v1/banner/{KEY}/config", None, "200 200 200 200 200 200 200 200"),
    ("POST", "/v1/banner/{KEY}/choices", CHOICE, "201 201 201 201 201 201 201 201"),
]


CASES = [
    pytest.param(method, path, body, role, int(expected.split()[i]),
                 id=f"{method} {path} as {role}")
    for method, path, body, expected in MATRIX
    for i, role in enumerate(ROLES)
]


@pytest.mark.parametrize(("method", "path", "body", "role", "status"), CASES)
def test_each_role_gets_exactly_the_status_the_contract_gives_it(
    world: World, method: str, path: str, body: Any, role: str, status: int
) -> None:
    changes_state = method != "GET" and status < 300
    scene = world.scene(fresh=changes_state)
    if path.startswith("/v1/log/"):
        world.client.app.state.sealer.seal_pending()  # type: ignore[attr-defined]
    path = _with_site(world, scene, _with_webhook(world, scene, _with_link(world, scene, path)))
    # The banner's page sends its Origin (api/banner/origins.py); a token changes nothing there.
    origin = {"Origin": SITE_ORIGIN} if path.startswith("/v1/banner/") else {}
    response = world.client.request(
        method, scene.fill(path), json=scene.fill(body),
        headers={**world.headers(role, scene), **origin},
    )
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")


def test_the_matrix_covers_every_route_of_the_api(world: World) -> None:
    """A new route without a row here (or in the propagation routes' matrix) fails this test,
    so nobody forgets its roles. The routes are the OpenAPI document's: the app's route list
    holds included routers, not their routes."""
    from tests.e2e.test_authorization_matrix_propagation import PROPAGATION_MATRIX

    schema = world.client.get("/openapi.json").json()
    routes = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if path.startswith("/v1/") and not path.startswith("/v1/audit/")
    }
    assert len(routes) > 60
    covered = {
        (method, _templated(path)) for method, path, _, _ in [*MATRIX, *PROPAGATION_MATRIX]
    }
    assert routes - covered == set()


def _with_link(world: World, scene: Scene, path: str) -> str:
    """`{LINK}`: a genuine unsubscribe token for the scene's subject and its given consent."""
    if "{LINK}" not in path:
        return path
    secret = unsubscribe_secret(world.ledger.keys)
    return path.replace("{LINK}", mint_token(secret, UUID(scene.ids["S"]), "info_mail"))


def _with_webhook(world: World, scene: Scene, path: str) -> str:
    """`{W}`: a webhook subscription of the scene's own tenant; `{M}`: a delivery to it, already
    delivered. Made once per scene, straight in the outbox's stores (not the API under test),
    to a target the sender refuses, so that a redelivery never leaves the machine."""
    if ("{W}" not in path and "{M}" not in path) or "W" in scene.ids:
        return path
    container = world.client.app.state.container  # type: ignore[attr-defined]
    now, tenant = world.ledger.now(), UUID(scene.ids["T"])
    subscription, _ = container.subscriptions().create(
        url="http://127.0.0.1:9/matrix", types=["access.requested"], actor="carla", now=now,
        head=int(world.ledger.recorder.max_notification_id() or 0), tenant_id=tenant,
    )
    notice = Notice(
        id=f"matrix-{subscription.id}", position=0, type="access.requested", tenant_id=tenant,
        subject_id=None, requester="sam", about_id=scene.ids["R"], occurred_at=now,
    )
    to = Addressee("webhook", subscription_id=subscription.id)
    deliveries = container.deliveries()
    # Due a year from now, so that the outbox leaves it alone until it is marked delivered.
    later = now + timedelta(days=365)
    deliveries.fan_out([(notice, [to])], lambda *_: {"type": notice.type}, later)
    made = deliveries.get(delivery_id(notice.id, to))
    deliveries.record_attempt(
        made, at=now, status=204, latency_ms=1, error=None, outcome=DELIVERED
    )
    scene.ids.update(W=str(subscription.id), M=made.id)
    return path


def _with_site(world: World, scene: Scene, path: str) -> str:
    """`{K}`: a site of the scene's own tenant embedding the banner, made straight in its store,
    with one visitor who chose through the ledger (for linking); `{KEY}`: its public key."""
    if not path.startswith(("/v1/sites", "/v1/banner/")) and not path.endswith("/visitors"):
        return path
    if "K" in scene.ids:
        return path
    container = world.client.app.state.container  # type: ignore[attr-defined]
    registered = container.sites().register(
        name="Shop", origins=[SITE_ORIGIN], tenant_id=UUID(scene.ids["T"]),
        notice_version="2026-03", texts=None, created_by="olga", now=world.ledger.now(),
    )
    world.ledger.record_banner_choice(registered.site, VISITOR, True, False, False)
    scene.ids.update(K=str(registered.site.id), KEY=registered.site.key)
    return path


PATH_NAMES = {
    "{T}": "{tenant_id}", "{X}": "{tenant_id}", "{S}": "{subject_id}", "{I}": "{incident_id}",
    **{short: "{request_id}" for short in ("{R}", "{G}", "{D}", "{P}", "{Q}", "{V}")},
    "/consents/profiling": "/consents/{purpose}", "/consents/info_mail": "/consents/{purpose}",
    "/consent-receipts/{subject_id}:2": "/consent-receipts/{record_id}", "{LINK}": "{token}",
    "{W}": "{webhook_id}", "{M}": "{delivery_id}",
    "/tile/0/000.p/1": "/tile/{path}", "/tile/entries/000.p/1": "/tile/{path}",
    "{Y}": "{system_id}", "{Z}": "{propagation_id}", "{E}": "{request_id}",
    "{K}": "{site_id}", "{KEY}": "{site_key}",
}


def _templated(path: str) -> str:
    path = path.split("?")[0]
    for short, name in PATH_NAMES.items():
        path = path.replace(short, name)
    return path

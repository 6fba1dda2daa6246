"""Bad bodies for every route that takes one: 422, naming the field, never a 500.

Each row is sent by a role that may call the route, so the answer is about the body alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import World, fields_named

ACCESS = {"scope": "read", "resources": ["orders"], "reason": "ticket"}
CONSENT = {"status": "given", "notice_version": "1", "method": "web_form"}
INCIDENT = {"title": "Leak", "description": "d", "severity": "low", "tenant_ids": ["{T}"]}
SUBJECT = {"name": "Jan", "email": "jan@example.org"}

# (role, method, path, body, the field the 422 must name)
BAD_BODIES: list[tuple[str, str, str, Any, str]] = [
    ("officer", "POST", "/v1/tenants", {}, "name"),
    ("officer", "POST", "/v1/tenants", {"name": "   "}, "name"),
    ("officer", "POST", "/v1/tenants", {"name": "A", "location": "US"}, "location"),
    ("officer", "POST", "/v1/tenants", {"name": "A", "colour": "red"}, "colour"),
    ("officer", "POST", "/v1/tenants/{T}/location", {"location": "CH", "reason": "cheaper"}, "location"),
    ("officer", "POST", "/v1/tenants/{T}/location", {"location": "FR"}, "reason"),
    ("system", "POST", "/v1/subjects", {**SUBJECT, "email": "not-an-email"}, "email"),
    ("system", "POST", "/v1/subjects", {"email": "jan@example.org"}, "name"),
    ("system", "POST", "/v1/subjects", {**SUBJECT, "phone": "call me"}, "phone"),
    ("system", "POST", "/v1/subjects", {**SUBJECT, "tenant_id": "acme"}, "tenant_id"),
    ("officer", "PATCH", "/v1/subjects/{S}", {}, "name"),
    ("officer", "PATCH", "/v1/subjects/{S}", {"email": "jan@"}, "email"),
    ("system", "PUT", "/v1/subjects/{S}/consents/info_mail", {**CONSENT, "status": "maybe"}, "status"),
    ("system", "PUT", "/v1/subjects/{S}/consents/info_mail", {**CONSENT, "method": "pre_ticked"}, "method"),
    ("system", "PUT", "/v1/subjects/{S}/consents/info_mail", {**CONSENT, "channel": "pigeon"}, "channel"),
    ("system", "PUT", "/v1/subjects/{S}/consents/info_mail", {"status": "given", "method": "web_form"}, "notice_version"),
    ("system", "PUT", "/v1/subjects/{S}/consents/spam", CONSENT, "purpose"),
    ("system", "POST", "/v1/subjects/{S}/unsubscribe-links", {"purpose": "spam"}, "purpose"),
    ("officer", "POST", "/v1/subjects/{S}/requests", {"kind": "gossip", "channel": "email"}, "kind"),
    ("officer", "POST", "/v1/subjects/{S}/requests", {"kind": "objection"}, "channel"),
    ("officer", "POST", "/v1/requests/{D}/verify-identity", {}, "method"),
    ("officer", "POST", "/v1/requests/{D}/extend", {"months": 3, "reason": "long"}, "months"),
    ("officer", "POST", "/v1/requests/{D}/extend", {"months": 1}, "reason"),
    ("officer", "POST", "/v1/requests/{P}/quote", {"amount_cents": 0, "currency": "EUR"}, "amount_cents"),
    ("officer", "POST", "/v1/requests/{P}/quote", {"amount_cents": 100, "currency": "E1R"}, "currency"),
    ("officer", "POST", "/v1/requests/{V}/fulfil", {"delivery_sha256": "ABC"}, "delivery_sha256"),
    ("officer", "POST", "/v1/requests/{D}/reject", {"reason": ""}, "reason"),
    ("staff", "POST", "/v1/tenants/{T}/access-requests", {**ACCESS, "scope": "peek"}, "scope"),
    ("staff", "POST", "/v1/tenants/{T}/access-requests", {**ACCESS, "resources": []}, "resources"),
    ("staff", "POST", "/v1/tenants/{T}/access-requests", {**ACCESS, "duration_minutes": 481}, "duration_minutes"),
    ("staff", "POST", "/v1/tenants/{T}/access-requests", {**ACCESS, "duration_minutes": "long"}, "duration_minutes"),
    ("staff", "POST", "/v1/tenants/{T}/access-requests", {"scope": "read", "resources": ["a"]}, "reason"),
    ("customer_own", "POST", "/v1/access-requests/{R}/approve", {"duration_minutes": 0}, "duration_minutes"),
    ("customer_own", "POST", "/v1/access-requests/{R}/approve", {"scope": "everything"}, "scope"),
    ("customer_own", "POST", "/v1/access-requests/{R}/approve", {"resources": []}, "resources"),
    ("customer_own", "POST", "/v1/access-requests/{R}/deny", {}, "reason"),
    ("customer_own", "POST", "/v1/access-requests/{R}/deny", {"reason": "   "}, "reason"),
    ("customer_own", "POST", "/v1/access-requests/{G}/revoke", {"reason": 17}, "reason"),
    ("staff", "POST", "/v1/access-requests/{G}/accesses", {"resource": "orders", "action": "delete"}, "action"),
    ("staff", "POST", "/v1/access-requests/{G}/accesses", {"action": "read"}, "resource"),
    ("officer", "POST", "/v1/tenants/{T}/disclosures",
     {"recipient": "Press", "legal_basis": "curiosity", "reference": "r"}, "legal_basis"),
    ("officer", "POST", "/v1/tenants/{T}/disclosures", {"legal_basis": "court_order", "reference": "r"}, "recipient"),
    ("officer", "POST", "/v1/incidents", {**INCIDENT, "severity": "apocalyptic"}, "severity"),
    ("officer", "POST", "/v1/incidents", {**INCIDENT, "aware_at": "2026-01-05T08:00:00"}, "aware_at"),
    ("officer", "POST", "/v1/incidents", {**INCIDENT, "aware_at": "2030-01-01T00:00:00Z"}, "aware_at"),
    ("officer", "POST", "/v1/incidents", {**INCIDENT, "tenant_ids": ["00000000-0000-4000-8000-000000000000"]}, "tenant_ids"),
    ("officer", "POST", "/v1/incidents/{I}/notifications", {"recipient": "press"}, "recipient"),
    ("officer", "POST", "/v1/incidents/{I}/notifications", {"recipient": "customer"}, "tenant_id"),
    ("officer", "POST", "/v1/incidents/{I}/notifications", {"recipient": "customer", "tenant_id": "{U}"}, "tenant_id"),
]


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "field"),
    [pytest.param(*row, id=f"{row[1]} {row[2]} without a good {row[4]}") for row in BAD_BODIES],
)
def test_a_bad_body_is_422_naming_the_field(
    world: World, role: str, method: str, path: str, body: Any, field: str
) -> None:
    scene = world.shared
    response = world.client.request(
        method, scene.fill(path), json=scene.fill(body), headers=world.headers(role, scene)
    )
    assert field in fields_named(response), response.text


BODY_ROUTES = sorted({(row[0], row[1], row[2]) for row in BAD_BODIES if "spam" not in row[2]})


@pytest.mark.parametrize(("role", "method", "path"), BODY_ROUTES, ids=lambda v: str(v))
def test_a_body_that_is_not_json_or_not_an_object_is_422_naming_the_body(
    world: World, role: str, method: str, path: str
) -> None:
    scene = world.shared
    headers = {**world.headers(role, scene), "Content-Type": "application/json"}
    for content in (b"{not json", b"[1, 2]", b'"text"'):
        response = world.client.request(method, scene.fill(path), content=content, headers=headers)
        assert fields_named(response) == {"body"}, (content, response.text)

"""The authorization matrix of the propagation routes (tests/e2e/test_authorization_matrix.py
holds the rest, and checks that every route has a row in one of the two): registered systems,
the systems' confirmations and failures, and the officer's waiver.

`{Y}` is a system made for the scene, `{Z}` a propagation delivered to the system whose token's
`sub` is "crm" (the matrix's system caller), `{E}` an erasure request whose identity is verified.
"""

from __future__ import annotations
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4
import pytest
from projections.outbox.deliveries import Addressee, Notice, delivery_id
from tests.e2e.conftest import ROLES, Scene, World
from tests.e2e.conftest import world  # noqa: F401  (the fixture)

OFFICER_ONLY = "401 403 403 403 200 403 403 403"
SYSTEM = {"name": "Billing", "url": "https://93.184.215.14/hook", "actor": "billing", "kinds": ["erasure"]}
PROPAGATION_MATRIX = [
    ("POST", "/v1/systems", SYSTEM, "401 403 403 403 201 403 403 403"),
    ("GET", "/v1/systems", None, OFFICER_ONLY),
    ("GET", "/v1/systems/{Y}", None, OFFICER_ONLY),
    ("DELETE", "/v1/systems/{Y}", None, OFFICER_ONLY),
    ("POST", "/v1/propagations/{Z}/confirm", None, "401 403 403 403 403 200 403 403"),
    ("POST", "/v1/propagations/{Z}/failure", {"reason": "locked"}, "401 403 403 403 403 200 403 403"),
    ("GET", "/v1/propagations/{Z}", None, "401 403 403 403 200 200 403 403"),
    ("POST", "/v1/requests/{E}/propagation/waive", {"reason": "decommissioned"}, OFFICER_ONLY),
]
CASES = [pytest.param(m, p, b, r, int(e.split()[i]), id=f"{m} {p} as {r}")
         for m, p, b, e in PROPAGATION_MATRIX for i, r in enumerate(ROLES)]


def _with_propagation(world: World, scene: Scene, path: str) -> str:
    if not any(k in path for k in ("{Y}", "{Z}", "{E}")) or "Y" in scene.ids:
        return path
    container = world.client.app.state.container
    ledger, now = world.ledger, world.ledger.now()
    # One system confirms as "crm" (the matrix's system caller), made with the first scene.
    system = container.systems().by_actor("crm")
    if system is None:
        system_id = uuid4()
        subscription, _ = container.subscriptions().create(
            url="http://127.0.0.1:9/matrix", types=["erasure.requested"], actor="olga",
            now=now, head=int(ledger.recorder.max_notification_id() or 0), system_id=system_id)
        system = container.systems().register(
            name="CRM", url="http://127.0.0.1:9/matrix", actor="crm", purposes=[],
            kinds=["erasure"], subscription_id=subscription.id, created_by="olga", now=now,
            system_id=system_id)
    request = ledger.receive_data_request(UUID(scene.ids["S"]), "erasure", "email", "olga").aggregate.id
    ledger.verify_identity(request, "passport", "olga", [system.system])
    notice = Notice(id=f"matrix-{request}", position=0, type="erasure.requested", tenant_id=None,
                    subject_id=UUID(scene.ids["S"]), requester=None, about_id=str(request), occurred_at=now)
    to = Addressee("webhook", subscription_id=system.subscription_id)
    container.deliveries().fan_out([(notice, [to])], lambda *_: {"type": notice.type}, now + timedelta(days=365))
    # {Y}: a system of the scene's own, which a DELETE may retire.
    own = container.systems().register(
        name="Shop", url="http://127.0.0.1:9/matrix", actor=f"shop-{uuid4()}", purposes=[],
        kinds=["erasure"], subscription_id=None, created_by="olga", now=now)
    scene.ids.update(Y=str(own.id), Z=delivery_id(notice.id, to), E=str(request))
    return path


@pytest.mark.parametrize(("method", "path", "body", "role", "status"), CASES)
def test_each_role_gets_exactly_the_status_the_contract_gives_it_on_propagation_routes(world: World, method: str, path: str, body: Any, role: str, status: int) -> None:
    scene = world.scene(fresh=method != "GET" and status < 300)
    response = world.client.request(
        method, scene.fill(_with_propagation(world, scene, path)), json=scene.fill(body),
        headers=world.headers(role, scene))
    assert response.status_code == status, response.text

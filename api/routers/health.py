"""The health check: the only thing a caller without a token may ask."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from api.problems import ProblemException, documented
from api.schemas.health import Health

router = APIRouter(tags=["health"])
log = logging.getLogger("ledger.api")


@router.get("/healthz", responses=documented(503))
def healthz(request: Request) -> Health:
    """200 when the store answers, 503 when it does not."""
    stores = request.app.state.stores
    try:
        stores.db.fetchone("SELECT 1")
        stores.ledger.recorder.max_notification_id()
    except Exception as error:  # any failure of the store means "not healthy", never a 500
        log.warning("health check failed: %s", error)
        raise ProblemException(503, "the store does not answer", headers={"Retry-After": "5"}) from None
    return Health(status="ok")

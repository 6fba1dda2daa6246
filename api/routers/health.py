"""The health check: the only thing a caller without a token may ask.

Load balancers call it every few seconds and give up after a short timeout, so it must answer
quickly even when the database does not: on PostgreSQL it waits at most
`CHECK_TIMEOUT_SECONDS` for a connection and then says 503 (with `Retry-After`), rather than
hanging in the pool's own, longer, wait.

A read model stopped by an event it could not apply (projections/read_models/failures.py) is unhealthy too:
its answers stand still while the others go on, and nothing but a person can mend it (a fix
deployed, or a rebuild). So the answer is 503 naming the read model, the event and the error,
as long as it stays stopped. So is a halted sealer (projections/merkle_log/sealer_halts.py):
nothing new is sealed or signed until a person mends its record. The store answering is
checked first: when it does not, that is the news.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from api.http.query_parameters import StrictQueryRoute
from api.http.problems import UNAVAILABLE_RETRY_AFTER_SECONDS, ProblemException, documented
from api.schemas.health import Health
from projections.merkle_log.sealer_halts import sealer_halt
from projections.read_models import failures
from projections.read_models.all_read_models import READ_MODEL_NAMES
from projections.storage.database import Database, ask_within

router = APIRouter(tags=["health"], route_class=StrictQueryRoute)
log = logging.getLogger("ledger.api")

CHECK_TIMEOUT_SECONDS = 2.0


def _store_answers(db: Database) -> None:
    ask_within(db, "SELECT 1", CHECK_TIMEOUT_SECONDS)


@router.get("/healthz", responses=documented(503))
def healthz(request: Request) -> Health:
    """200 when the store answers, every read model goes on and the sealer seals; 503 when the
    store does not answer, when a read model is stopped (the detail names it, the event and
    the error) or when the sealer halted (the detail says why)."""
    stores = request.app.state.stores
    try:
        _store_answers(stores.db)
        # The events table too; only asked once the database itself has answered, because
        # the event store's own retries would keep a caller waiting through an outage.
        stores.ledger.recorder.max_notification_id()
        stopped = failures.failures(stores.db, READ_MODEL_NAMES)
        halt = sealer_halt(stores.db)
    except Exception as error:  # any failure of the store means "not healthy", never a 500
        log.warning("health check failed: %s", type(error).__name__)
        raise ProblemException(
            503, "the store does not answer",
            headers={"Retry-After": UNAVAILABLE_RETRY_AFTER_SECONDS},
        ) from None
    container = request.app.state.container
    if container.read_only and container.reads.choose() is None:
        # Only a read-only process: a writing one still takes writes without its replicas.
        raise ProblemException(
            503, "no read replica can be read now (each is down or too far behind)",
            headers={"Retry-After": UNAVAILABLE_RETRY_AFTER_SECONDS},
        )
    if stopped or halt:
        # No Retry-After: asking again soon will not help; the detail says what will.
        said = [failure.describe() for failure in stopped]
        if stopped:
            said[-1] += "; the other read models go on"
        if halt:
            said.append(f"{halt.describe()}; nothing new is sealed until it is mended")
        raise ProblemException(503, "; ".join(said))
    return Health(status="ok")

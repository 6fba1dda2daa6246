"""Linking a website visitor (a subject made by its banner choices, api/routers/banner.py) to the
registered subject it turned out to be: recorded on both, in one save (domain/visitor.py).
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from api.http.deps import ContainerDep, LedgerDep, OfficerOrSystem
from api.http.idempotency import IdempotentRoute
from api.http.problems import documented, field_problem
from api.schemas.banner import VisitorLink, VisitorLinked
from domain.visitor import visitor_subject_id

router = APIRouter(
    prefix="/v1/subjects/{subject_id}/visitors", tags=["consent banner sites"],
    route_class=IdempotentRoute, responses=documented(401, 403, 404, 409, 422),
)


@router.post(
    "", status_code=201, responses={200: {"description": "linked already: nothing recorded"}}
)
def link_visitor(
    subject_id: UUID, body: VisitorLink, caller: OfficerOrSystem, ledger: LedgerDep,
    container: ContainerDep, response: Response,
) -> VisitorLinked:
    """The site's visitor (the id in its `ledger_visitor` cookie) is this registered subject:
    recorded as `VisitorLinked` on the subject and `LinkedTo` on the visitor. Both must be of
    the same tenant, neither erased, and the visitor linked to nobody else (409). Linking
    again to the same subject records nothing and answers 200 with `position` null."""
    if container.sites().get(body.site_id) is None:
        raise field_problem("site_id", f"there is no site with id {body.site_id}")
    outcome = ledger.link_visitor(subject_id, body.site_id, body.visitor_id, caller.actor)
    visitor = visitor_subject_id(body.site_id, body.visitor_id)
    if outcome is None:
        response.status_code = 200
        return VisitorLinked(subject_id=subject_id, visitor=visitor, position=None)
    return VisitorLinked(subject_id=subject_id, visitor=visitor, position=outcome.position)

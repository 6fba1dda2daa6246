"""`ReadModels`: the one object the API reads through, implementing the read contract
(`projections.read_models.queries.contract.ReadSide`).

It is composed, not written out: each area's queries live in a module of this folder as a
subclass of `Queries` (queries/base.py: the database, the column sealer, the clock), and
`ReadModels` inherits them all. A caller keeps one object with every method of the contract;
a reader of one area reads one short module. The areas share no method and no state beyond
`Queries` (tests/unit/test_read_model_queries_by_area.py checks both).

Ids come back as strings and times as timezone-aware datetimes (UTC). Sealed personal fields
are opened with the owner's data key on the way out; after an erasure or a purge they are
"[erased]" (or, for an erased subject, absent).
"""

from __future__ import annotations

from projections.read_models.queries.access import AccessQueries
from projections.read_models.queries.consent_check import ConsentCheckQueries
from projections.read_models.queries.data_requests import DataRequestQueries
from projections.read_models.queries.due import DueQueries
from projections.read_models.queries.incidents import IncidentQueries
from projections.read_models.queries.positions import PositionQueries
from projections.read_models.queries.subjects import SubjectQueries
from projections.read_models.queries.tenants import TenantQueries

AREAS = (
    PositionQueries, TenantQueries, SubjectQueries, ConsentCheckQueries, AccessQueries,
    DataRequestQueries, IncidentQueries, DueQueries,
)


class ReadModels(
    PositionQueries, TenantQueries, SubjectQueries, ConsentCheckQueries, AccessQueries,
    DataRequestQueries, IncidentQueries, DueQueries,
):
    """Every area's queries over one database (see the module's docstring)."""

"""The read models the API reads, in one list: what the runner applies and `ReadModels` waits on."""

from __future__ import annotations

from domain.ledger.keys import KeyStore
from projections.read_models.access_log import AccessLog
from projections.read_models.access_requests import AccessRequests
from projections.read_models.data_requests import DataRequests
from projections.read_models.disclosures import Disclosures
from projections.read_models.incidents import Incidents
from projections.read_models.base import Projection
from projections.read_models.sealed_columns import ColumnSealer
from projections.read_models.subject_profiles import SubjectProfiles
from projections.read_models.tenants import Tenants

READ_MODEL_NAMES = (
    "subject_profiles", "tenants", "access_requests", "access_log", "data_requests",
    "incidents", "disclosures",
)


def read_model_projections(keys: KeyStore, lookup_key: bytes) -> list[Projection]:
    sealer = ColumnSealer(keys)
    projections: list[Projection] = [
        SubjectProfiles(sealer, lookup_key),
        Tenants(sealer),
        AccessRequests(sealer),
        AccessLog(sealer),
        DataRequests(sealer),
        Incidents(),
        Disclosures(),
    ]
    assert tuple(p.name for p in projections) == READ_MODEL_NAMES
    return projections

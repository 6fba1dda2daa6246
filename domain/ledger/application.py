"""The Ledger: the one eventsourcing Application, so every event has one place in one global
order, assembled from its areas (each a module of this package over `base.py`)."""

from __future__ import annotations

from domain.ledger.incidents import IncidentCommands
from domain.ledger.propagation import PropagationCommands
from domain.ledger.staff_access import StaffAccessCommands
from domain.ledger.subject_requests import SubjectRequestCommands
from domain.ledger.subjects import SubjectCommands
from domain.ledger.tenants import TenantCommands
from domain.ledger.visitors import VisitorCommands


class Ledger(
    TenantCommands, SubjectCommands, StaffAccessCommands, SubjectRequestCommands,
    IncidentCommands, PropagationCommands, VisitorCommands,
):
    # The application's name, not the class's: it prefixes the settings read from the
    # environment (LEDGER_...) and names the stores' tables. It must never change.
    name = "ledger"

"""The read models' tables: one portable definition for SQLite and PostgreSQL.

Times are stored as whole microseconds since the epoch (UTC) in BIGINT columns: they sort
and compare the same on both stores, whatever the collation, and keyset pagination on
`(at, position)` can use an index. Personal fields are stored sealed (see
`projections.read_models.sealed_columns`), never in plaintext.

Each `Table` (projections.storage.tables) names its primary key and its sealed columns (with
the column holding the id of the owner whose data key seals it), so `check` can compare a live
table with a rebuild row by row, opening sealed values rather than comparing ciphertexts with
random nonces.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from projections.storage.database import Database
from projections.storage.tables import Table, ensure_tables

TRACKING_TABLE = "projection_tracking"
FAILURES_TABLE = "projection_failures"
VERSIONS_TABLE = "projection_versions"

SUBJECT_PROFILES = Table(
    "subject_profiles",
    "id TEXT NOT NULL, tenant_id TEXT, name TEXT, email TEXT, phone TEXT, "
    "erased INTEGER NOT NULL, created_at {big_int} NOT NULL, updated_at {big_int} NOT NULL, "
    "position {big_int} NOT NULL, version {big_int} NOT NULL, kind TEXT NOT NULL",
    key=("id",),
    indexes=("subject_profiles_by_tenant ON subject_profiles (tenant_id, position)",),
    sealed={"name": "id", "email": "id", "phone": "id"},
)
# One row per (purpose, channel) decided; channel "*" is a decision for every channel.
SUBJECT_CONSENTS = Table(
    "subject_consents",
    "subject_id TEXT NOT NULL, purpose TEXT NOT NULL, channel TEXT NOT NULL, "
    "status TEXT NOT NULL, since {big_int} NOT NULL, notice_version TEXT, "
    "method TEXT NOT NULL, version {big_int} NOT NULL",
    key=("subject_id", "purpose", "channel"),
)
CONSENT_HISTORY = Table(
    "consent_history",
    "subject_id TEXT NOT NULL, position {big_int} NOT NULL, purpose TEXT NOT NULL, "
    "status TEXT NOT NULL, channel TEXT, notice_version TEXT, method TEXT NOT NULL, "
    "at {big_int} NOT NULL, actor TEXT NOT NULL",
    key=("subject_id", "position"),
)
EMAIL_LOOKUP = Table(
    "email_lookup",
    "email_hash TEXT NOT NULL, subject_id TEXT NOT NULL, position {big_int} NOT NULL",
    key=("email_hash", "subject_id"),
    indexes=("email_lookup_by_subject ON email_lookup (subject_id)",),
)

TENANTS = Table(
    "tenants",
    "id TEXT NOT NULL, name TEXT, status TEXT NOT NULL, location TEXT NOT NULL, "
    "purge_after {big_int}, created_at {big_int} NOT NULL, updated_at {big_int} NOT NULL, "
    "position {big_int} NOT NULL, tenancy INTEGER NOT NULL, purge_final_at {big_int}",
    key=("id",),
    indexes=("tenants_by_status ON tenants (status, position)",),
    sealed={"name": "id"},
)
TENANT_LOCATIONS = Table(
    "tenant_locations",
    "tenant_id TEXT NOT NULL, position {big_int} NOT NULL, location TEXT NOT NULL, "
    "since {big_int} NOT NULL, reason TEXT, actor TEXT NOT NULL",
    key=("tenant_id", "position"),
)

ACCESS_REQUESTS = Table(
    "access_requests",
    "id TEXT NOT NULL, tenant_id TEXT NOT NULL, requester TEXT NOT NULL, scope TEXT NOT NULL, "
    "resources TEXT NOT NULL, reason TEXT, ticket TEXT, duration_minutes INTEGER NOT NULL, "
    "status TEXT NOT NULL, requested_at {big_int} NOT NULL, expires_at {big_int} NOT NULL, "
    "approver TEXT, granted_scope TEXT, granted_resources TEXT, valid_until {big_int}, "
    "decided_at {big_int}, updated_at {big_int} NOT NULL, position {big_int} NOT NULL, "
    "decided_by TEXT, tenancy INTEGER",
    key=("id",),
    indexes=(
        "access_requests_by_tenant ON access_requests (tenant_id, position)",
        "access_requests_by_status ON access_requests (status, position)",
        "access_requests_by_requester ON access_requests (requester, position)",
    ),
    sealed={"reason": "tenant_id"},
)
ACCESS_REQUEST_HISTORY = Table(
    "access_request_history",
    "request_id TEXT NOT NULL, position {big_int} NOT NULL, tenant_id TEXT NOT NULL, "
    "at {big_int} NOT NULL, event TEXT NOT NULL, actor TEXT, detail TEXT, reason TEXT",
    key=("request_id", "position"),
    indexes=("access_request_history_by_tenant ON access_request_history (tenant_id)",),
    sealed={"reason": "tenant_id"},
)

ACCESS_LOG = Table(
    "access_log",
    "position {big_int} NOT NULL, tenant_id TEXT NOT NULL, at {big_int} NOT NULL, "
    "actor TEXT NOT NULL, action TEXT NOT NULL, resource TEXT NOT NULL, request_id TEXT, "
    "outcome TEXT NOT NULL, detail TEXT, subject_id TEXT, reason TEXT",
    key=("position",),
    # Newest first by tenant: the customer's most frequent question, paged by keyset.
    indexes=("access_log_by_tenant_time ON access_log (tenant_id, at DESC, position DESC)",),
    # A vendor's read: the reader's reason, sealed with the key of the subject read.
    sealed={"reason": "subject_id"},
)

DATA_REQUESTS = Table(
    "data_requests",
    "id TEXT NOT NULL, subject_id TEXT NOT NULL, tenant_id TEXT, kind TEXT NOT NULL, "
    "channel TEXT NOT NULL, status TEXT NOT NULL, received_at {big_int} NOT NULL, "
    "due_at {big_int} NOT NULL, overdue INTEGER NOT NULL, identity_verified INTEGER NOT NULL, "
    "extended_months INTEGER NOT NULL, quote_amount_cents INTEGER, quote_currency TEXT, "
    "delivery_sha256 TEXT, delivery_format TEXT, details TEXT, extension_reason TEXT, "
    "rejection_reason TEXT, closed_at {big_int}, updated_at {big_int} NOT NULL, "
    "position {big_int} NOT NULL, entered_at {big_int} NOT NULL, entered_by TEXT NOT NULL, "
    "erasure_final_at {big_int}",
    key=("id",),
    indexes=(
        "data_requests_by_due ON data_requests (due_at, position)",
        "data_requests_by_subject ON data_requests (subject_id)",
        "data_requests_by_tenant ON data_requests (tenant_id)",
        "data_requests_by_status ON data_requests (status, due_at)",
    ),
    sealed={"details": "subject_id", "extension_reason": "subject_id",
            "rejection_reason": "subject_id"},
)

INCIDENTS = Table(
    "incidents",
    "id TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL, severity TEXT NOT NULL, "
    "aware_at {big_int} NOT NULL, authority_due_at {big_int} NOT NULL, "
    "authority_notified_at {big_int}, authority_reference TEXT, overdue INTEGER NOT NULL, "
    "reported_at {big_int} NOT NULL, actor TEXT NOT NULL, position {big_int} NOT NULL",
    key=("id",),
    indexes=("incidents_by_position ON incidents (position)",),
)
INCIDENT_TENANTS = Table(
    "incident_tenants",
    "incident_id TEXT NOT NULL, tenant_id TEXT NOT NULL, incident_position {big_int} NOT NULL, "
    "notified_at {big_int}, notified_by TEXT, notice_message_id TEXT",
    key=("incident_id", "tenant_id"),
    indexes=("incident_tenants_by_tenant ON incident_tenants (tenant_id, incident_position)",),
)

DISCLOSURES = Table(
    "disclosures",
    "id TEXT NOT NULL, tenant_id TEXT NOT NULL, recipient TEXT NOT NULL, "
    "legal_basis TEXT NOT NULL, reference TEXT NOT NULL, subject_ids TEXT NOT NULL, "
    "at {big_int} NOT NULL, actor TEXT NOT NULL, position {big_int} NOT NULL",
    key=("id",),
    indexes=("disclosures_by_tenant ON disclosures (tenant_id, position)",),
)

ALL_TABLES = (
    SUBJECT_PROFILES, SUBJECT_CONSENTS, CONSENT_HISTORY, EMAIL_LOOKUP, TENANTS,
    TENANT_LOCATIONS, ACCESS_REQUESTS, ACCESS_REQUEST_HISTORY, ACCESS_LOG, DATA_REQUESTS,
    INCIDENTS, INCIDENT_TENANTS, DISCLOSURES,
)

# Each read model's position: the notification id of the last event it applied.
TRACKING = Table(TRACKING_TABLE, "name TEXT NOT NULL, position {big_int} NOT NULL", key=("name",))
# A read model that could not apply an event: which event, what error, when. While its row is
# here the read model is stopped (projections/read_models/failures.py).
FAILURES = Table(
    FAILURES_TABLE,
    "name TEXT NOT NULL, position {big_int} NOT NULL, topic TEXT NOT NULL, "
    "originator_id TEXT NOT NULL, originator_version {big_int} NOT NULL, "
    "error_type TEXT NOT NULL, error_message TEXT NOT NULL, failed_at {big_int} NOT NULL",
    key=("name",),
)
# The version of each read model's tables (projections/read_models/versions.py); no row means 1.
VERSIONS = Table(VERSIONS_TABLE, "name TEXT NOT NULL, version INTEGER NOT NULL", key=("name",))
BOOKKEEPING_TABLES = (TRACKING, FAILURES, VERSIONS)


def create_tables(db: Database, projections: Sequence[Any] = ()) -> None:
    """Idempotent: every process that reads or projects calls it at start.

    `projections` (the runner passes its own) are first brought to their declared `version`
    (`projections.read_models.versions`): a read model whose tables changed is dropped and made anew
    before anything below runs, so `CREATE ... IF NOT EXISTS` never keeps, or indexes, a
    table of the old shape. Their tables are created here too, when not among ALL_TABLES.
    `ReadModels` calls it without projections, after the runner of its process has."""
    create_bookkeeping_tables(db)
    if projections:
        # Imported here: `projections.read_models.versions` builds on this module.
        from projections.read_models.versions import upgrade

        upgrade(db, projections)
    tables = {table.name: table for table in ALL_TABLES}
    for projection in projections:
        tables.update((table.name, table) for table in projection.tables)
    ensure_tables(db, tables.values())


def create_bookkeeping_tables(db: Database) -> None:
    """The projections' own tables: positions, failures, versions (never change shape)."""
    ensure_tables(db, BOOKKEEPING_TABLES)


def micros(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("a stored moment needs a time zone")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def moment(value: int | None) -> datetime | None:
    if value is None:
        return None
    return _EPOCH + timedelta(microseconds=int(value))


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

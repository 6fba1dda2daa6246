"""The read side's contract: what the API may ask of the read models, the one definition.

`ReadModels` (projections/read_models/queries/answers.py) implements this protocol over the
tables the projections keep, one area per module of this folder. Every list answers a `Page`
(queries/paging.py): newest or oldest first as documented per method, keyset-paged by an
opaque `after` cursor (never OFFSET), `limit` items at most (1 to `MAX_LIMIT`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from projections.read_models.queries.paging import DEFAULT_LIMIT, Page


class ReadSide(Protocol):
    # Read-your-writes
    def position(self) -> int:
        """The lowest notification id that every read model has reached."""

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until every read model has reached `position`; False on timeout."""

    # Tenants
    def tenant(self, tenant_id: UUID) -> dict[str, Any] | None:
        """{id, name, status, location, locations: [{location, since, reason}],
        purge_after, created_at}; name is "[erased]" after a purge."""

    def tenants(
        self, *, status: str | None = None, after: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page:
        """Newest first, without the location history."""

    # Subjects
    def subject_profile(self, subject_id: UUID) -> dict[str, Any] | None:
        """{id, tenant_id, name, email, phone, erased, consents: {purpose: {status,
        channel, since, notice_version, method, channels: {channel: {...}}}}, created_at,
        updated_at} (domain/consent.py `summary`).
        An erased subject answers {id, tenant_id, erased: True} only."""

    def subjects(
        self, *, tenant_id: UUID | None = None, after: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page:
        """Newest first, profiles without consents; erased ones as {id, tenant_id, erased}."""

    def subject_profile_as_of(self, subject_id: UUID, as_of: datetime) -> dict[str, Any] | None:
        """The profile as it stood at `as_of`, from the subject's events (not the tables);
        None before the subject existed; "[erased]" fields after an erasure."""

    def consent_check(
        self, subject_id: UUID, purpose: str, channel: str | None = None
    ) -> dict[str, Any] | None:
        """domain/consent.py `answer` for the purpose (and channel), never from a profile
        that has not seen the subject's last event; None when there is no such subject."""

    async def consent_check_settled(
        self, subject_id: UUID, purpose: str, channel: str | None = None
    ) -> tuple[bool, dict[str, Any] | None]:
        """`consent_check`'s query on the event loop: (True, its answer), or (False, None)
        when only `consent_check` can answer (it reads the events)."""

    def consent_history(self, subject_id: UUID, after: str | None, limit: int) -> Page:
        """Oldest first: {position, purpose, status, channel, notice_version, method, at, actor}."""

    def subject_by_email(self, email: str) -> UUID | None:
        """Lookup by keyed hash (HMAC) of the normalised email; gone after erasure."""

    def subjects_by_email(
        self, email: str, *, tenant_id: UUID | None = None
    ) -> list[dict[str, Any]]:
        """Profiles (as `subjects` lists them) with this e-mail address, newest first."""

    # Staff access
    def access_request(self, request_id: UUID) -> dict[str, Any] | None:
        """{id, tenant_id, requester, scope, resources, reason, ticket, duration_minutes,
        status, requested_at, expires_at, approver, granted_scope, granted_resources,
        valid_until, decided_at, history: [{at, event, actor, detail}]}"""

    def access_requests(
        self, *, tenant_id: UUID | None = None, status: str | None = None,
        requester: str | None = None, after: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> Page:
        """Newest first."""

    def access_log(
        self, tenant_id: UUID, *, since: datetime | None = None, until: datetime | None = None,
        actor: str | None = None, outcome: str | None = None, after: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page:
        """Newest first: {at, actor, action, resource, request_id, outcome} with outcome
        "allowed" | "refused" | "disclosed" (and later kinds, e.g. "purged")."""

    # Subjects' requests
    def data_request(self, request_id: UUID) -> dict[str, Any] | None: ...

    def data_requests(
        self, *, status: str | None = None, overdue: bool | None = None,
        subject_id: UUID | None = None, tenant_id: UUID | None = None,
        after: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> Page:
        """Soonest due first: {id, subject_id, tenant_id, kind, channel, status, received_at,
        due_at, overdue, identity_verified, quote, delivery_sha256, waiting_for (the
        registered systems whose confirmation it awaits)}."""

    # Incidents and disclosures
    def incident(
        self, incident_id: UUID, tenant_id: UUID | None = None
    ) -> dict[str, Any] | None:
        """With tenant_id: None unless that tenant is affected; other tenants hidden."""

    def incidents(
        self, *, tenant_id: UUID | None = None, after: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page:
        """{id, title, description, severity, aware_at, authority_due_at,
        authority_notified_at, overdue, tenant_ids, customers_notified: {tenant: at},
        customer_notices: [{tenant_id, at, by, message_id}]}"""

    def disclosures(
        self, tenant_id: UUID, *, after: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page:
        """{id, tenant_id, recipient, legal_basis, reference, at, actor}"""

    # What time has made due (for `ledger sweep`)
    def due_for_sweep(self, now: datetime) -> dict[str, list[UUID]]:
        """{"end_with_tenancy": [...], "expire_requests": [...], "end_grants": [...],
        "purge_tenants": [...],
        "overdue_requests": [...], "overdue_incidents": [...]}"""

"""`ReadModels`: the answers the API gives, read from the tables the projections keep.

Implements `projections.read_models.queries.contract.ReadSide`. Ids come back as strings and times as timezone-aware
datetimes (UTC). Sealed personal fields are opened with the owner's data key on the way out;
after an erasure or a purge they are "[erased]" (or, for an erased subject, absent).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any
from uuid import UUID

from domain import consent, values
from domain.clock import Clock, SystemClock
from domain.errors import InvalidInput, NotFound
from domain.keys import KeyStore
from domain.personal import ERASED
from projections.read_models import failures
from projections.read_models.access_log import OUTCOMES
from projections.read_models.all_read_models import READ_MODEL_NAMES
from projections.storage.database import Database
from projections.read_models.history import subject_profile_as_of
from projections.read_models.queries.paging import check_limit, decode_cursor, encode_cursor
from projections.read_models.queries.contract import Page
from projections.read_models.sealed_columns import ColumnSealer, email_hash
from projections.read_models.tables import create_tables, micros, moment

CLOSED_DATA_REQUEST = ("fulfilled", "rejected", "declined")
WAIT_SLICE = 0.05


class ReadModels:
    def __init__(
        self,
        db: Database,
        keys: KeyStore,
        lookup_key: bytes,
        *,
        ledger: Any = None,
        clock: Clock | None = None,
        runner: Any = None,
    ) -> None:
        """`ledger` is needed only for `subject_profile_as_of`; `clock` decides what is overdue
        now; `runner` (an in-process ProjectionRunner) lets `wait_for` wake on its commits."""
        self.db = db
        self.sealer = ColumnSealer(keys)
        self.lookup_key = lookup_key
        self.ledger = ledger
        self.clock: Clock = clock or SystemClock()
        self.runner = runner
        create_tables(db)

    # Read-your-writes
    def positions(self) -> dict[str, int]:
        """The position of each read model that is not stopped (projections/read_models/failures.py): a
        reader of the healthy ones is not held back by one that cannot move."""
        return failures.active(*failures.tracking(self.db, READ_MODEL_NAMES))

    def position(self) -> int:
        """How far every read model that is not stopped has come (all of them when none is)."""
        return failures.lowest(*failures.tracking(self.db, READ_MODEL_NAMES))

    def wait_for(self, position: int, timeout: float) -> bool:
        """True once every read model that is not stopped has reached `position`."""
        if self.runner is not None:
            return bool(self.runner.wait_for(position, timeout))
        deadline = time.monotonic() + max(0.0, timeout)
        while self.position() < position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(remaining, WAIT_SLICE))
        return True

    # Tenants
    def tenant(self, tenant_id: UUID | str) -> dict[str, Any] | None:
        row = self.db.fetchone(
            "SELECT id, name, status, location, purge_after, created_at, updated_at, "
            "purge_final_at FROM tenants WHERE id = %s",
            (str(tenant_id),),
        )
        if row is None:
            return None
        item = self._tenant_item(row)
        item["locations"] = [
            {"location": location, "since": moment(since), "reason": reason, "actor": actor}
            for location, since, reason, actor in self.db.fetchall(
                "SELECT location, since, reason, actor FROM tenant_locations "
                "WHERE tenant_id = %s ORDER BY position",
                (item["id"],),
            )
        ]
        return item

    def tenants(
        self, *, status: str | None = None, after: str | None = None, limit: int = 100
    ) -> Page:
        """Newest first."""
        where, params = _filters(("status", status))
        return self._page(
            "id, name, status, location, purge_after, created_at, updated_at, purge_final_at",
            "tenants",
            where, params, after, limit, order=("position",), descending=True,
            item=self._tenant_item,
        )

    def _tenant_item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        tid, sealed, status, location, purge_after, created_at, updated_at, final_at = row
        name = ERASED if status == "purged" else self.sealer.open(
            tid, "tenants", (tid,), "name", sealed
        )
        return {
            "id": tid, "name": name, "status": status, "location": location,
            "purge_after": moment(purge_after), "created_at": moment(created_at),
            "updated_at": moment(updated_at), "purge_final_at": moment(final_at),
        }

    # Subjects
    def subject_profile(self, subject_id: UUID | str) -> dict[str, Any] | None:
        row = self.db.fetchone(
            "SELECT id, tenant_id, name, email, phone, erased, created_at, updated_at "
            "FROM subject_profiles WHERE id = %s",
            (str(subject_id),),
        )
        if row is None:
            return None
        item = self._subject_item(row)
        if not item["erased"]:
            decisions: dict[str, dict[str, Any]] = {}
            for purpose, *rest in self.db.fetchall(
                f"SELECT purpose, {_DECISION_COLUMNS} FROM subject_consents "
                "WHERE subject_id = %s ORDER BY purpose",
                (item["id"],),
            ):
                decisions.setdefault(purpose, {})[rest[0]] = _decision(rest)
            item["consents"] = {p: consent.summary(d) for p, d in decisions.items()}
        return item

    def subjects(
        self, *, tenant_id: UUID | str | None = None, after: str | None = None, limit: int = 100
    ) -> Page:
        """Newest first, without consents (ask `subject_profile` for those)."""
        where, params = _filters(("tenant_id", tenant_id))
        return self._page(
            "id, tenant_id, name, email, phone, erased, created_at, updated_at",
            "subject_profiles", where, params, after, limit, order=("position",),
            descending=True, item=self._subject_item,
        )

    def _subject_item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        sid, tenant_id, name, email, phone, erased, created_at, updated_at = row
        if erased:
            return {"id": sid, "tenant_id": tenant_id, "erased": True}

        def opened(column: str, sealed: str | None) -> Any:
            return self.sealer.open(sid, "subject_profiles", (sid,), column, sealed)

        return {
            "id": sid, "tenant_id": tenant_id, "name": opened("name", name),
            "email": opened("email", email), "phone": opened("phone", phone), "erased": False,
            "created_at": moment(created_at), "updated_at": moment(updated_at),
        }

    def subject_profile_as_of(
        self, subject_id: UUID | str, as_of: datetime
    ) -> dict[str, Any] | None:
        """From the subject's events up to `as_of` (not from these tables)."""
        if self.ledger is None:
            raise RuntimeError("ReadModels was made without the ledger; as-of needs its events")
        return subject_profile_as_of(self.ledger, _uuid(subject_id, "subject_id"), as_of)

    def consent_check(
        self, subject_id: UUID | str, purpose: str, channel: str | None = None
    ) -> dict[str, Any] | None:
        """"May I?" (domain/consent.py `answer`), None when there is no such subject: the
        question before every mail, in one query, opening no sealed field.

        Never from a profile that is behind: the same query reads the subject's last event
        version from the events table, and when the profile has not reached it (a decision
        answered a moment ago on any process, not yet projected) the answer comes from the
        events themselves."""
        answer, version, last = self._projected_consent(subject_id, purpose, channel, fresh=True)
        if self.ledger is None or (version is not None and version == last):
            return answer
        if last is None and self._events_in_this_database() is None:
            last = self._last_version(subject_id)  # a store the query cannot see (memory)
            if version is not None and version == last:
                return answer
        if last is None:
            return None  # no such subject anywhere
        return self.ledger.consent_answer(
            _uuid(subject_id, "subject_id"), values.purpose(purpose).value, channel
        )

    def projected_consent(
        self, subject_id: UUID | str, purpose: str, channel: str | None = None
    ) -> dict[str, Any] | None:
        """The read models' own answer, without looking whether they are behind: what the
        check costs without its freshness (bench/costs.py). Ask `consent_check`."""
        return self._projected_consent(subject_id, purpose, channel, fresh=False)[0]

    def _projected_consent(
        self, subject_id: UUID | str, purpose: str, channel: str | None, *, fresh: bool
    ) -> tuple[dict[str, Any] | None, int | None, int | None]:
        """(the answer from the read models, the subject version they reflect, and with
        `fresh` the version of the subject's last stored event, read in the same statement:
        one snapshot of both)."""
        purpose = values.purpose(purpose).value
        sid = str(_uuid(subject_id, "subject_id"))
        params: list[Any] = []
        last = "NULL"
        events = self._events_in_this_database() if fresh else None
        if events is not None:
            last, as_stored = events
            params.append(as_stored(sid))
        joined = "c.channel IS NOT NULL"
        params += [sid, purpose]
        if channel is not None:
            channel = values.choice("channel", values.Channel, channel).value
            joined = "c.channel IN (%s, %s)"
            params += [consent.EVERY_CHANNEL, channel]
        rows = self.db.fetchall(
            f"SELECT {last}, p.erased, p.version, t.status, "
            + ", ".join(f"c.{column.strip()}" for column in _DECISION_COLUMNS.split(","))
            + " FROM (SELECT 1 AS one) AS asked "
            "LEFT JOIN subject_profiles p ON p.id = %s "
            "LEFT JOIN tenants t ON t.id = p.tenant_id "
            f"LEFT JOIN subject_consents c ON c.subject_id = p.id AND c.purpose = %s AND {joined}",
            params,
        )
        last_version, erased, version, tenant_status = rows[0][:4]
        if version is None:
            return None, None, last_version
        decisions = {row[4]: _decision(row[4:]) for row in rows if row[4] is not None}
        closed = None if tenant_status in (None, "active") else f"the tenant is {tenant_status}"
        answer = consent.answer(decisions, channel, erased=bool(erased), closed=closed)
        return answer, version, last_version

    def _events_in_this_database(self) -> tuple[str, Any] | None:
        """How a query on the read models reads a subject's last event version from the event
        store's own table, when both live in one database: (SQL, the id as that table keeps
        it). None for a store no query can see (memory)."""
        recorder = getattr(self.ledger, "recorder", None)
        module = type(recorder).__module__
        table = getattr(recorder, "events_table_name", None)
        if module == "eventsourcing.sqlite" and self.db.dialect == "sqlite":
            sql = f"(SELECT MAX(originator_version) FROM {table} WHERE originator_id = %s)"
            return sql, lambda sid: UUID(sid).hex
        if module == "eventsourcing.postgres" and self.db.dialect == "postgresql":
            sql = f"(SELECT MAX(originator_version) FROM {table} WHERE originator_id = %s::uuid)"
            return sql, str
        return None

    def _last_version(self, subject_id: UUID | str) -> int | None:
        last = self.ledger.recorder.select_events(_uuid(subject_id, "subject_id"), desc=True, limit=1)
        return last[0].originator_version if last else None

    def consent_history(
        self, subject_id: UUID | str, after: str | None = None, limit: int = 100
    ) -> Page:
        """Oldest first."""
        return self._page(
            "position, purpose, status, channel, notice_version, method, at, actor",
            "consent_history", ["subject_id = %s"], [str(subject_id)], after, limit,
            order=("position",), descending=False,
            item=lambda row: {
                "position": row[0], "purpose": row[1], "status": row[2], "channel": row[3],
                "notice_version": row[4], "method": row[5], "at": moment(row[6]),
                "actor": row[7],
            },
        )

    def subject_by_email(self, email: str) -> UUID | None:
        if not isinstance(email, str) or not email.strip():
            raise InvalidInput("email", "email is required")
        row = self.db.fetchone(
            "SELECT subject_id FROM email_lookup WHERE email_hash = %s "
            "ORDER BY position DESC LIMIT 1",
            (email_hash(self.lookup_key, email),),
        )
        return None if row is None else UUID(row[0])

    def subjects_by_email(
        self, email: str, *, tenant_id: UUID | str | None = None
    ) -> list[dict[str, Any]]:
        """Every subject with this e-mail address (ignoring case and surrounding spaces),
        newest first, found by the keyed hash of DESIGN.md §4: nothing is decrypted to look."""
        if not isinstance(email, str) or not email.strip():
            raise InvalidInput("email", "email is required")
        where, params = _filters(("p.tenant_id", tenant_id))
        rows = self.db.fetchall(
            "SELECT p.id, p.tenant_id, p.name, p.email, p.phone, p.erased, p.created_at, "
            "p.updated_at FROM email_lookup l JOIN subject_profiles p ON p.id = l.subject_id "
            "WHERE l.email_hash = %s" + "".join(f" AND {w}" for w in where)
            + " ORDER BY p.position DESC LIMIT 100",
            (email_hash(self.lookup_key, email), *params),
        )
        return [self._subject_item(row) for row in rows]

    # Staff access
    _ACCESS_REQUEST_COLUMNS = (
        "id, tenant_id, requester, scope, resources, reason, ticket, duration_minutes, status, "
        "requested_at, expires_at, approver, granted_scope, granted_resources, valid_until, "
        "decided_at, updated_at, position, decided_by"
    )

    def access_request(self, request_id: UUID | str) -> dict[str, Any] | None:
        row = self.db.fetchone(
            f"SELECT {self._ACCESS_REQUEST_COLUMNS} FROM access_requests WHERE id = %s",
            (str(request_id),),
        )
        if row is None:
            return None
        item = self._access_request_item(row)
        item["history"] = [
            {
                "at": moment(at), "event": event, "actor": actor,
                "detail": detail if sealed is None else self.sealer.open(
                    tenant_id, "access_request_history", (item["id"], position), "reason", sealed
                ),
            }
            for position, tenant_id, at, event, actor, detail, sealed in self.db.fetchall(
                "SELECT position, tenant_id, at, event, actor, detail, reason "
                "FROM access_request_history WHERE request_id = %s ORDER BY position",
                (item["id"],),
            )
        ]
        return item

    def access_requests(
        self, *, tenant_id: UUID | str | None = None, status: str | None = None,
        requester: str | None = None, after: str | None = None, limit: int = 100,
    ) -> Page:
        """Newest first."""
        where, params = _filters(
            ("tenant_id", tenant_id), ("status", status), ("requester", requester)
        )
        return self._page(
            self._ACCESS_REQUEST_COLUMNS, "access_requests", where, params, after, limit,
            order=("position",), descending=True, item=self._access_request_item,
        )

    def _access_request_item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        (rid, tenant_id, requester, scope, resources, reason, ticket, duration, status,
         requested_at, expires_at, approver, granted_scope, granted_resources, valid_until,
         decided_at, updated_at, position, decided_by) = row
        return {
            "id": rid, "tenant_id": tenant_id, "requester": requester, "scope": scope,
            "resources": json.loads(resources),
            "reason": self.sealer.open(tenant_id, "access_requests", (rid,), "reason", reason),
            "ticket": ticket, "duration_minutes": duration, "status": status,
            "requested_at": moment(requested_at), "expires_at": moment(expires_at),
            "approver": approver, "granted_scope": granted_scope,
            "granted_resources": json.loads(granted_resources) if granted_resources else [],
            "valid_until": moment(valid_until), "decided_at": moment(decided_at),
            "updated_at": moment(updated_at), "position": position, "decided_by": decided_by,
        }

    def access_log(
        self, tenant_id: UUID | str, *, since: datetime | None = None,
        until: datetime | None = None, actor: str | None = None, outcome: str | None = None,
        after: str | None = None, limit: int = 100,
    ) -> Page:
        """Newest first by (at, position). `until` gives the log as it stood at that moment:
        entries are only ever added, so the rows up to it are exactly what was there then."""
        if outcome is not None and outcome not in OUTCOMES:
            raise InvalidInput("outcome", f"outcome must be one of: {', '.join(OUTCOMES)}")
        where, params = _filters(("tenant_id", tenant_id), ("actor", actor), ("outcome", outcome))
        if since is not None:
            where.append("at >= %s")
            params.append(_micros(since, "since"))
        if until is not None:
            where.append("at <= %s")
            params.append(_micros(until, "until"))
        def item(row: tuple[Any, ...]) -> dict[str, Any]:
            at, actor, action, resource, request_id, outcome, detail, position, sid, sealed = row
            if sealed is not None:  # a vendor's read with its reason, in the reader's words
                detail = self.sealer.open(sid, "access_log", (position,), "reason", sealed)
            return {
                "at": moment(at), "actor": actor, "action": action, "resource": resource,
                "request_id": request_id, "outcome": outcome, "detail": detail,
                "position": position,
            }

        return self._page(
            "at, actor, action, resource, request_id, outcome, detail, position, subject_id, "
            "reason", "access_log", where, params, after, limit, order=("at", "position"),
            descending=True, item=item,
        )

    # Subjects' requests
    _DATA_REQUEST_COLUMNS = (
        "id, subject_id, tenant_id, kind, channel, status, received_at, due_at, overdue, "
        "identity_verified, extended_months, quote_amount_cents, quote_currency, "
        "delivery_sha256, delivery_format, closed_at, updated_at, position, entered_at, "
        "entered_by, erasure_final_at"
    )

    def data_request(self, request_id: UUID | str) -> dict[str, Any] | None:
        row = self.db.fetchone(
            f"SELECT {self._DATA_REQUEST_COLUMNS}, details, extension_reason, rejection_reason "
            "FROM data_requests WHERE id = %s",
            (str(request_id),),
        )
        if row is None:
            return None
        item = self._data_request_item(row[:21])
        for column, sealed in zip(("details", "extension_reason", "rejection_reason"), row[21:]):
            item[column] = self.sealer.open(
                item["subject_id"], "data_requests", (item["id"],), column, sealed
            )
        return item

    def data_requests(
        self, *, status: str | None = None, overdue: bool | None = None,
        subject_id: UUID | str | None = None, tenant_id: UUID | str | None = None,
        after: str | None = None, limit: int = 100,
    ) -> Page:
        """Soonest due first. Overdue means still open and past its due time (or marked so)."""
        where, params = _filters(
            ("status", status), ("subject_id", subject_id), ("tenant_id", tenant_id)
        )
        if overdue is not None:
            late = (
                f"(status NOT IN ({', '.join(['%s'] * len(CLOSED_DATA_REQUEST))}) "
                "AND (overdue = 1 OR due_at < %s))"
            )
            where.append(late if overdue else f"NOT {late}")
            params += [*CLOSED_DATA_REQUEST, micros(self.clock.now())]
        return self._page(
            self._DATA_REQUEST_COLUMNS, "data_requests", where, params, after, limit,
            order=("due_at", "position"), descending=False,
            item=self._data_request_item,
        )

    def _data_request_item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        (rid, subject_id, tenant_id, kind, channel, status, received_at, due_at, overdue,
         verified, extended, amount, currency, sha256, fmt, closed_at, updated_at,
         position, entered_at, entered_by, erasure_final_at) = row
        is_open = status not in CLOSED_DATA_REQUEST
        now = micros(self.clock.now())
        return {
            "id": rid, "subject_id": subject_id, "tenant_id": tenant_id, "kind": kind,
            "channel": channel, "status": status, "received_at": moment(received_at),
            "due_at": moment(due_at),
            "overdue": is_open and (bool(overdue) or due_at < now),
            "identity_verified": bool(verified), "extended_months": extended,
            "quote": None if amount is None else {"amount_cents": amount, "currency": currency},
            "delivery_sha256": sha256, "delivery_format": fmt, "closed_at": moment(closed_at),
            "updated_at": moment(updated_at), "position": position,
            "entered_at": moment(entered_at), "entered_by": entered_by,
            "erasure_final_at": moment(erasure_final_at),
        }

    # Incidents and disclosures
    _INCIDENT_COLUMNS = (
        "id, title, description, severity, aware_at, authority_due_at, authority_notified_at, "
        "authority_reference, overdue, reported_at, actor, position"
    )

    def incident(
        self, incident_id: UUID | str, tenant_id: UUID | str | None = None
    ) -> dict[str, Any] | None:
        """With `tenant_id` (a customer's view): None unless that tenant is affected, and the
        other affected tenants are left out."""
        row = self.db.fetchone(
            f"SELECT {self._INCIDENT_COLUMNS} FROM incidents WHERE id = %s", (str(incident_id),)
        )
        if row is None:
            return None
        item = self._incident_item(row, tenant_id)
        if tenant_id is not None and not item["tenant_ids"]:
            return None
        return item

    def incidents(
        self, *, tenant_id: UUID | str | None = None, after: str | None = None, limit: int = 100
    ) -> Page:
        """Newest first; with `tenant_id`, only those affecting it, seen as that customer."""
        where: list[str] = []
        params: list[Any] = []
        if tenant_id is not None:
            where.append(
                "id IN (SELECT incident_id FROM incident_tenants WHERE tenant_id = %s)"
            )
            params.append(str(tenant_id))
        return self._page(
            self._INCIDENT_COLUMNS, "incidents", where, params, after, limit,
            order=("position",), descending=True,
            item=lambda row: self._incident_item(row, tenant_id),
        )

    def _incident_item(
        self, row: tuple[Any, ...], tenant_id: UUID | str | None
    ) -> dict[str, Any]:
        (iid, title, description, severity, aware_at, due_at, notified_at, reference, flagged,
         reported_at, actor, position) = row
        affected = self.db.fetchall(
            "SELECT tenant_id, notified_at FROM incident_tenants WHERE incident_id = %s "
            "ORDER BY tenant_id",
            (iid,),
        )
        if tenant_id is not None:
            affected = [(t, at) for t, at in affected if t == str(tenant_id)]
        # Late is late: notified after the 72 hours, or not yet notified and past them.
        overdue = bool(flagged) or (notified_at or micros(self.clock.now())) > due_at
        return {
            "id": iid, "title": title, "description": description, "severity": severity,
            "aware_at": moment(aware_at), "authority_due_at": moment(due_at),
            "authority_notified_at": moment(notified_at), "authority_reference": reference,
            "overdue": overdue, "reported_at": moment(reported_at), "reported_by": actor,
            "tenant_ids": [t for t, _ in affected],
            "customers_notified": {t: moment(at) for t, at in affected if at is not None},
            "position": position,
        }

    def disclosures(
        self, tenant_id: UUID | str, *, after: str | None = None, limit: int = 100
    ) -> Page:
        """Newest first."""
        return self._page(
            "id, tenant_id, recipient, legal_basis, reference, subject_ids, at, actor, position",
            "disclosures", ["tenant_id = %s"], [str(tenant_id)], after, limit,
            order=("position",), descending=True,
            item=lambda row: {
                "id": row[0], "tenant_id": row[1], "recipient": row[2], "legal_basis": row[3],
                "reference": row[4], "subject_ids": json.loads(row[5]), "at": moment(row[6]),
                "actor": row[7], "position": row[8],
            },
        )

    # What time has made due
    def due_for_sweep(self, now: datetime) -> dict[str, list[UUID]]:
        at = _micros(now, "now")
        closed = ", ".join(["%s"] * len(CLOSED_DATA_REQUEST))

        def ids(sql: str, *params: Any) -> list[UUID]:
            return [UUID(row[0]) for row in self.db.fetchall(sql, params)]

        return {
            # Requests of a closed tenant, or asked in a tenancy its termination ended; an
            # old request without a tenancy is judged by the domain (it may have ended).
            "end_with_tenancy": ids(
                "SELECT r.id FROM access_requests r JOIN tenants t ON t.id = r.tenant_id "
                "WHERE r.status IN ('pending', 'approved') AND (t.status <> 'active' "
                "OR r.tenancy <> t.tenancy OR (r.tenancy IS NULL AND t.tenancy > 0)) "
                "ORDER BY r.position"),
            "expire_requests": ids(
                "SELECT id FROM access_requests WHERE status = 'pending' AND expires_at <= %s "
                "ORDER BY position", at),
            "end_grants": ids(
                "SELECT id FROM access_requests WHERE status = 'approved' AND valid_until <= %s "
                "ORDER BY position", at),
            "purge_tenants": ids(
                "SELECT id FROM tenants WHERE status = 'terminated' AND purge_after < %s "
                "ORDER BY position", at),
            "overdue_requests": ids(
                f"SELECT id FROM data_requests WHERE status NOT IN ({closed}) AND overdue = 0 "
                "AND due_at < %s ORDER BY due_at, position", *CLOSED_DATA_REQUEST, at),
            "overdue_incidents": ids(
                "SELECT id FROM incidents WHERE authority_notified_at IS NULL AND overdue = 0 "
                "AND authority_due_at < %s ORDER BY position", at),
        }

    # Keyset paging, shared by every list
    def _page(
        self, columns: str, table: str, where: list[str], params: list[Any], after: str | None,
        limit: int,
        *, order: tuple[str, ...], descending: bool, item: Any,
    ) -> Page:
        limit = check_limit(limit)
        key = decode_cursor(after, *([int] * len(order)))
        where = list(where)
        params = list(params)
        if key is not None:
            marks = ", ".join(["%s"] * len(order))
            where.append(f"({', '.join(order)}) {'<' if descending else '>'} ({marks})")
            params += list(key)
        direction = " DESC" if descending else ""
        # The sort key rides at the end of each row, so the cursor can be read off the last one.
        sql = f"SELECT {columns}, {', '.join(order)} FROM {table}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY " + ", ".join(f"{column}{direction}" for column in order)
        sql += " LIMIT %s"
        rows = self.db.fetchall(sql, [*params, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = None
        if more and rows:
            next_cursor = encode_cursor(*(int(v) for v in rows[-1][-len(order):]))
        return {"items": [item(row[:-len(order)]) for row in rows], "next": next_cursor}


def _filters(*pairs: tuple[str, Any]) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for column, value in pairs:
        if value is not None:
            where.append(f"{column} = %s")
            params.append(str(value))
    return where, params


_DECISION_COLUMNS = "channel, status, since, notice_version, method, version"


def _decision(row: Any) -> dict[str, Any]:
    """A row of `_DECISION_COLUMNS` as domain/consent.py keeps a decision."""
    channel, status, since, notice_version, method, version = row
    return {
        "status": status, "channel": None if channel == consent.EVERY_CHANNEL else channel,
        "since": moment(since), "notice_version": notice_version, "method": method,
        "version": version,
    }


def _micros(value: datetime, field: str) -> int:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(field, f"{field} must be a time with a time zone")
    result = micros(value)
    assert result is not None
    return result


def _uuid(value: UUID | str, field: str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(field, f"{field} is not a valid id") from None

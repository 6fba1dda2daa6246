"""The consent check, "may I?" (domain/consent.py `answer`): the question before every mail,
answered in one query that opens no sealed field, and never from a profile that is behind.

Also how a row of `subject_consents` becomes a decision as domain/consent.py keeps one
(`DECISION_COLUMNS`, `decision`), which the subject's profile shows too (subjects.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain import consent, values
from domain.tenant import TenantStanding
from projections.read_models.queries.base import Queries, checked_uuid
from projections.read_models.tables import moment
from projections.storage.event_topics import events_table

DECISION_COLUMNS = "channel, status, since, notice_version, method, version"


def decision(row: Any) -> dict[str, Any]:
    """A row of `DECISION_COLUMNS` as domain/consent.py keeps a decision."""
    channel, status, since, notice_version, method, version = row
    return {
        "status": status, "channel": None if channel == consent.EVERY_CHANNEL else channel,
        "since": moment(since), "notice_version": notice_version, "method": method,
        "version": version,
    }


class ConsentCheckQueries(Queries):
    def consent_check(
        self, subject_id: UUID | str, purpose: str, channel: str | None = None
    ) -> dict[str, Any] | None:
        """"May I?", None when there is no such subject.

        Never from a profile that is behind: the same query reads the subject's last event
        version from the events table, and when the profile has not reached it (a decision
        answered a moment ago on any process, not yet projected) the answer comes from the
        events themselves."""
        channel = _channel(channel)
        sql, params = self._statement(subject_id, purpose, channel, fresh=True)
        rows = self.db.fetchall(sql, params)
        settled, answer = self._settle(rows, channel)
        return answer if settled else self._from_the_events(subject_id, purpose, channel, rows)

    async def consent_check_settled(
        self, subject_id: UUID | str, purpose: str, channel: str | None = None
    ) -> tuple[bool, dict[str, Any] | None]:
        """`consent_check`'s one query, on the event loop (`Database.afetchall`: PostgreSQL's
        own asynchronous connections, SQLite's index lookup in place): (True, the answer), or
        (False, None) when the answer must come from the events (`consent_check`, which
        reads them, in a thread)."""
        channel = _channel(channel)
        sql, params = self._statement(subject_id, purpose, channel, fresh=True)
        return self._settle(await self.db.afetchall(sql, params), channel)

    def projected_consent(
        self, subject_id: UUID | str, purpose: str, channel: str | None = None
    ) -> dict[str, Any] | None:
        """The read models' own answer, without looking whether they are behind: what the
        check costs without its freshness (bench/costs.py). Ask `consent_check`."""
        channel = _channel(channel)
        sql, params = self._statement(subject_id, purpose, channel, fresh=False)
        return _projected(self.db.fetchall(sql, params), channel)[0]

    def _settle(
        self, rows: list[tuple[Any, ...]], channel: str | None
    ) -> tuple[bool, dict[str, Any] | None]:
        answer, version, last = _projected(rows, channel)
        if self.ledger is None or (version is not None and version == last):
            return True, answer
        if last is None and self._events_in_this_database() is None:
            return False, None  # a store the query cannot see (memory): ask the events
        return last is None, None  # no such subject anywhere; or the profile is behind

    def _from_the_events(
        self, subject_id: UUID | str, purpose: str, channel: str | None,
        rows: list[tuple[Any, ...]],
    ) -> dict[str, Any] | None:
        """The answer `_settle` could not give from `rows`: the read models' own when the events
        (read through the recorder, where the query cannot see them) say they are current,
        else the ledger's from the subject's events."""
        answer, version, last = _projected(rows, channel)
        if last is None and self._events_in_this_database() is None:
            last = self._last_version(subject_id)
            if version is not None and version == last:
                return answer
        if last is None:
            return None
        return self.ledger.consent_answer(
            checked_uuid(subject_id, "subject_id"), values.purpose(purpose).value, channel
        )

    def _statement(
        self, subject_id: UUID | str, purpose: str, channel: str | None, *, fresh: bool
    ) -> tuple[str, list[Any]]:
        """The query for the read models' answer, the subject version they reflect, and with
        `fresh` the version of the subject's last stored event, read in the same statement:
        one snapshot of both."""
        purpose = values.purpose(purpose).value
        sid = str(checked_uuid(subject_id, "subject_id"))
        params: list[Any] = []
        last = "NULL"
        events = self._events_in_this_database() if fresh else None
        if events is not None:
            last, as_stored = events
            params.append(as_stored(sid))
        joined = "c.channel IS NOT NULL"
        params += [sid, purpose]
        if channel is not None:
            joined = "c.channel IN (%s, %s)"
            params += [consent.EVERY_CHANNEL, channel]
        sql = (
            f"SELECT {last}, p.erased, p.version, t.status, "
            + ", ".join(f"c.{column.strip()}" for column in DECISION_COLUMNS.split(","))
            + " FROM (SELECT 1 AS one) AS asked "
            "LEFT JOIN subject_profiles p ON p.id = %s "
            "LEFT JOIN tenants t ON t.id = p.tenant_id "
            f"LEFT JOIN subject_consents c ON c.subject_id = p.id AND c.purpose = %s AND {joined}"
        )
        return sql, params

    def _events_in_this_database(self) -> tuple[str, Callable[[str], Any]] | None:
        """How a query on the read models reads a subject's last event version from the event
        store's own table, when both live in one database: (SQL, the id as that table keeps
        it). None for a store no query can see (memory)."""
        found = events_table(getattr(self.ledger, "recorder", None), self.db)
        if found is None:
            return None
        table, as_stored, placeholder = found
        sql = f"(SELECT MAX(originator_version) FROM {table} WHERE originator_id = {placeholder})"
        return sql, as_stored

    def _last_version(self, subject_id: UUID | str) -> int | None:
        last = self.ledger.recorder.select_events(
            checked_uuid(subject_id, "subject_id"), desc=True, limit=1
        )
        return last[0].originator_version if last else None


def _projected(
    rows: list[tuple[Any, ...]], channel: str | None
) -> tuple[dict[str, Any] | None, int | None, int | None]:
    """(the read models' answer, the subject version they reflect, the last event's version)
    from the rows of `_statement`."""
    last_version, erased, version, tenant_status = rows[0][:4]
    if version is None:
        return None, None, last_version
    decisions = {row[4]: decision(row[4:]) for row in rows if row[4] is not None}
    closed = None if tenant_status is None else TenantStanding(tenant_status).closed_reason
    answer = consent.answer(decisions, channel, erased=bool(erased), closed=closed)
    return answer, version, last_version


def _channel(channel: str | None) -> str | None:
    return None if channel is None else values.choice("channel", values.Channel, channel).value

"""The dispatcher: fans new notices out to deliveries, sends what is due (webhooks and
e-mail, several at once so one slow receiver holds one slot, not the queue) and records every
attempt, in background threads of the process that runs the workers.

What a receiver's answer means and when to try again is domain/notifications.py's; which
deliveries exist and who holds them is projections/outbox/deliveries.py's. A delivery whose
mail makes a required step happen (an incident notice to a customer) records that step in the
ledger before the delivery is marked delivered: a crash in between sends the mail again, never
loses the event.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.errors import DomainError
from domain.notifications import (
    RECORDED_WHEN_MAILED, RETRY_SCHEDULE, Answer, NoticeType, answer_means, next_attempt,
)
from projections.outbox.audience import Audience
from projections.outbox.coming_due import notice_coming_deadlines
from projections.outbox.deliveries import (
    DELIVERED, DISABLED, EXPIRED, PENDING, REJECTED, Delivery, DeliveryStore,
)
from api.notifications.mail_context import mail_context
from api.notifications.payloads import payload_for

log = logging.getLogger("ledger.outbox")
OUTBOX_ACTOR = "ledger-outbox"
DEADLINE_CHECK_SECONDS = 60.0
NOTICES_KEPT = timedelta(days=7)
LEASE_MARGIN = 5.0  # seconds beyond an attempt's timeout


class Dispatcher:
    def __init__(self, container: Any, mailer: Any = None) -> None:
        """`container`: api/bootstrap.py's; `mailer`: what sends mail (api/notifications/
        smtp.py), None to build one from LEDGER_SMTP_URL (or none when it is unset)."""
        self.container, self.settings = container, container.settings
        self.ledger = container.stores.ledger
        self.deliveries: DeliveryStore = container.deliveries()
        if mailer is None and self.settings.smtp_url is not None:
            from api.notifications.smtp import SmtpSender

            mailer = SmtpSender(self.settings.smtp_url.get_secret_value())
        self.mailer = mailer
        waits = self.settings.webhook_retry_seconds
        self.schedule = tuple(timedelta(seconds=w) for w in waits) if waits else RETRY_SCHEDULE
        # An attempt ends within its timeout (the sender's own deadline): a lease a little
        # longer is left only by a process that died mid-send, and then it runs out soon.
        self.lease = timedelta(seconds=self.settings.webhook_timeout_seconds + LEASE_MARGIN)
        self._pool = ThreadPoolExecutor(self.settings.outbox_concurrency, "outbox-send")
        self._busy = 0  # deliveries being sent now
        self._guard = threading.Lock()
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._deadlines_checked = float("-inf")

    # One round, in the caller's thread (tests, `ledger` commands)
    def run_once(self) -> int:
        """Fans out what is new and sends everything due now; returns how many were sent."""
        self.fan_out()
        due = self.deliveries.claim_due(self.ledger.now(), 10_000, self.lease)
        for item in due:
            self.send(item)
        return len(due)

    def fan_out(self) -> int:
        now = self.ledger.now()
        if time.monotonic() - self._deadlines_checked >= DEADLINE_CHECK_SECONDS:
            self.notice_deadlines()
        made = 0
        while notices := self.deliveries.waiting_notices():
            audience = self._audience()
            made += self.deliveries.fan_out(
                [(notice, audience.of(notice)) for notice in notices],
                payload_for(self.settings.public_url), now,
            )
        return made

    def notice_deadlines(self) -> int:
        """Deadlines now within their warning become notices (each once); fanned notices
        older than a week are forgotten. Done at most once a minute by `fan_out`."""
        now, head = self.ledger.now(), int(self.ledger.recorder.max_notification_id() or 0)
        added = notice_coming_deadlines(self.container.stores.db, self.deliveries, now, head)
        self.deliveries.forget_fanned_notices(now - NOTICES_KEPT)
        self._deadlines_checked = time.monotonic()
        return added

    def _audience(self) -> Audience:
        return Audience(
            self.container.subscriptions().active(), self.container.systems().all(),
            self.container.contacts(), officer_emails=self.settings.officer_emails,
            staff_emails=self.settings.staff_emails, mail=self.mailer is not None,
        )

    # One delivery
    def send(self, item: Delivery) -> None:
        try:
            if item.channel == "email":
                self._mail(item)
            else:
                self._post(item)
        except Exception:  # never let one delivery stop the others; it is tried again later
            log.exception("delivery %s could not be attempted", item.id)

    def _post(self, item: Delivery) -> None:
        from api.notifications.webhook_sender import send

        subscriptions = self.container.subscriptions()
        sub = subscriptions.get(item.subscription_id) if item.subscription_id else None
        if sub is None or not sub.active:
            why = "the subscription was deleted" if sub is None else (
                f"the subscription is disabled: {sub.disabled_reason or 'by its owner'}")
            self.deliveries.set_aside(item, DISABLED, why)
            return
        body = json.dumps(item.payload, separators=(",", ":")).encode()
        at = self.ledger.now()
        result = send(
            sub.url, subscriptions.secret(sub.id), item.id, body,
            allowed_hosts=self.settings.webhook_allowed_hosts,
            timeout=self.settings.webhook_timeout_seconds, now=at,
        )
        answer = answer_means(result.status)
        if answer is Answer.GONE:
            subscriptions.disable(sub.id, "the receiver answered 410 Gone")
        self._record(item, at, result.status, result.latency_ms, result.error, answer,
                     result.retry_after)

    def _mail(self, item: Delivery) -> None:
        from api.notifications.mail import compose
        from api.notifications.smtp import MailFailed

        if self.mailer is None:
            self.deliveries.set_aside(item, DISABLED, "no mail server is configured")
            return
        at, started = self.ledger.now(), time.monotonic()
        try:
            message = compose(
                item.type, item.language or "en",
                mail_context(item, self.ledger, self.settings.public_url),
                sender=self.settings.mail_from, recipient=item.recipient or "",
            )
        except ValueError as unwritable:  # not one address: no retry makes it one
            self.deliveries.record_attempt(
                item, at=at, status=None, latency_ms=0, error=str(unwritable), outcome=REJECTED
            )
            return
        try:
            message_id = self.mailer.send(message)
        except MailFailed as failed:
            latency = int((time.monotonic() - started) * 1000)
            if failed.permanent:
                self.deliveries.record_attempt(
                    item, at=at, status=None, latency_ms=latency, error=str(failed),
                    outcome=REJECTED,
                )
                return
            self._record(item, at, None, latency, str(failed), Answer.RETRY, None)
            return
        latency = int((time.monotonic() - started) * 1000)
        if item.type in RECORDED_WHEN_MAILED:
            self._record_notice_mailed(item, message_id)
        self.deliveries.record_attempt(
            item, at=at, status=250, latency_ms=latency, error=None, outcome=DELIVERED,
            message_id=message_id,
        )

    def _record_notice_mailed(self, item: Delivery, message_id: str) -> None:
        """The first notice mailed to an affected customer is its notification; an officer
        may have recorded one already, and then the mail is only a copy."""
        if item.type == NoticeType.INCIDENT_REPORTED and item.tenant_id and item.about_id:
            try:
                self.ledger.notify_customer_of_incident(
                    UUID(item.about_id), item.tenant_id, OUTBOX_ACTOR, message_id=message_id
                )
            except DomainError as already:
                log.info("incident %s: %s", item.about_id, already)

    def _record(
        self, item: Delivery, at: Any, status: int | None, latency_ms: int, error: str | None,
        answer: Answer, retry_after: float | None,
    ) -> None:
        if answer is Answer.DELIVERED:
            outcome, again = DELIVERED, None
        elif answer is Answer.GONE:
            outcome, again = DISABLED, None
        else:
            again = next_attempt(item.attempts + 1, at, retry_after, self.schedule)
            outcome = PENDING if again is not None else EXPIRED
        self.deliveries.record_attempt(
            item, at=at, status=status, latency_ms=latency_ms, error=error, outcome=outcome,
            next_attempt_at=again,
        )

    # In the background
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        interval = self.settings.outbox_interval_seconds
        while not self._stop.is_set():
            try:
                self.fan_out()
                claimed = self._fill_slots()
            except Exception as error:  # the database went away: try again after a while
                log.warning("outbox round failed (%s); retrying", error)
                claimed = 0
            if not claimed:
                self._wake.wait(interval)
                self._wake.clear()

    def _fill_slots(self) -> int:
        with self._guard:
            free = self.settings.outbox_concurrency - self._busy
        if free <= 0:
            return 0
        due = self.deliveries.claim_due(self.ledger.now(), free, self.lease)
        for item in due:
            with self._guard:
                self._busy += 1
            self._pool.submit(self._send_then_free, item)
        return len(due)

    def _send_then_free(self, item: Delivery) -> None:
        try:
            self.send(item)
        finally:
            with self._guard:
                self._busy -= 1
            self._wake.set()

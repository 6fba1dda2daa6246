"""The outbox's tables. Moments are integer microseconds since the epoch (UTC), as on the
read side; lists are space-separated words."""

from __future__ import annotations

from projections.storage.tables import Table

# One row per thing someone must hear, from the event at `position` (or, for the clocks the
# sweep watches, from the moment it noticed; `position` is then the log's head). `requester`:
# the staff member an access request's steps are told to. `fanned`: its deliveries exist.
OUTBOX_NOTICES = Table(
    "outbox_notices",
    "id TEXT, position {big_int} NOT NULL, type TEXT NOT NULL, tenant_id TEXT, "
    "subject_id TEXT, requester TEXT, about_id TEXT NOT NULL, occurred_at {big_int} NOT NULL, "
    "data TEXT NOT NULL, fanned INTEGER NOT NULL",
    key=("id",),
    indexes=("outbox_notices_waiting ON outbox_notices (fanned, position)",),
)

# Who has asked to be told: a tenant's subscriptions (tenant_id set), the vendor's (NULL), and
# each registered system's (system_id set). `secret` is sealed (subscriptions.py).
WEBHOOK_SUBSCRIPTIONS = Table(
    "webhook_subscriptions",
    "id TEXT, tenant_id TEXT, system_id TEXT, url TEXT NOT NULL, secret TEXT NOT NULL, "
    "types TEXT NOT NULL, description TEXT, status TEXT NOT NULL, disabled_reason TEXT, "
    "since_position {big_int} NOT NULL, created_at {big_int} NOT NULL, created_by TEXT NOT NULL",
    key=("id",),
    indexes=("webhook_subscriptions_tenant ON webhook_subscriptions (tenant_id)",),
)

# Each message to one receiver: a webhook (subscription_id) or an e-mail (recipient). The id is
# the `webhook-id` and stays the same on every retry and redelivery.
OUTBOX_DELIVERIES = Table(
    "outbox_deliveries",
    "id TEXT, notice_id TEXT NOT NULL, channel TEXT NOT NULL, subscription_id TEXT, "
    "recipient TEXT, language TEXT, type TEXT NOT NULL, tenant_id TEXT, about_id TEXT, "
    "payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, "
    "next_attempt_at {big_int}, lease_until {big_int}, created_at {big_int} NOT NULL, "
    "last_attempt_at {big_int}, delivered_at {big_int}, last_status INTEGER, last_error TEXT, "
    "message_id TEXT",
    key=("id",),
    indexes=(
        "outbox_deliveries_due ON outbox_deliveries (status, next_attempt_at)",
        "outbox_deliveries_subscription ON outbox_deliveries (subscription_id, created_at)",
        "outbox_deliveries_tenant ON outbox_deliveries (tenant_id, created_at)",
    ),
)

# Every try of every delivery: when, what came back, how long it took.
OUTBOX_ATTEMPTS = Table(
    "outbox_attempts",
    "delivery_id TEXT, attempt INTEGER, at {big_int} NOT NULL, status INTEGER, "
    "latency_ms INTEGER NOT NULL, error TEXT",
    key=("delivery_id", "attempt"),
)

# Whom a tenant's mail goes to (its approvers) and in which language.
TENANT_CONTACTS = Table(
    "tenant_contacts",
    "tenant_id TEXT, approver_emails TEXT NOT NULL, language TEXT NOT NULL, "
    "updated_at {big_int} NOT NULL",
    key=("tenant_id",),
)

# The e-mail address a caller's token last named (its `email` claim), by `Caller.key`.
ACTOR_ADDRESSES = Table(
    "actor_addresses", "actor_key TEXT, email TEXT NOT NULL, seen_at {big_int} NOT NULL",
    key=("actor_key",),
)

OUTBOX_TABLES = (
    OUTBOX_NOTICES, WEBHOOK_SUBSCRIPTIONS, OUTBOX_DELIVERIES, OUTBOX_ATTEMPTS, TENANT_CONTACTS,
    ACTOR_ADDRESSES,
)

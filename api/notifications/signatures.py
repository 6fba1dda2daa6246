"""The Standard Webhooks signature of a webhook, and the headers that carry it.

The spec (standardwebhooks.com): the signed content is `{webhook-id}.{webhook-timestamp}.{body}`
with the body's bytes exactly as sent; the signature is `v1,` and the base64 of its
HMAC-SHA256, keyed with the base64-decoded part of the `whsec_` secret. A receiver checks it
with any Standard Webhooks library and refuses a timestamp far from its own clock, which
stops replays. The spec's optional asymmetric `v1a,` (Ed25519) signatures are not offered:
one shared secret per subscription is what the issue asks for, and a receiver that can keep
one keeps it sealed on our side too (projections/outbox/subscriptions.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PREFIX = "whsec_"
USER_AGENT = "compliance-ledger-webhooks/1"


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 signature>` of one message."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header a webhook request carries besides Host and Content-Length."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }

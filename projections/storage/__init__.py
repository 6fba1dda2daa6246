"""Storage: the database backends and the ledger's SQL stores other than the read models.

`database` is what every backend offers (connections and transactions, `%s` placeholders,
locks) and opens the one LEDGER_DATABASE_URL names; `sqlite` and `postgres` are the backends,
one module each, as in the eventsourcing library; `tables` is the one way every store makes its
tables; `follower` follows the event log; `advisory_locks` holds every PostgreSQL advisory lock
key and the one way to take one. Beside them are the key store (`key_store`, with the
key-encryption keys' directory, key epochs and erasure finality) and the other SQL stores:
idempotency keys, portal sessions, the portal's sign-ins at identity providers
(`portal_sign_ins`), delivered files. Modules here may import `domain/`, the
standard library, the eventsourcing library and the database drivers; never `api/`, nor the
read models, the Merkle log or the audit tools, which build on them.
"""

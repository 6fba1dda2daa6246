"""The read side: everything that follows the event log after the domain has decided.

`read_models/` keeps the tables the API reads (one module per read model, their queries by
area, the runner that applies the log to them); `merkle_log/` turns every event into a leaf of
the RFC 9162 Merkle tree and signs checkpoints; `audit/` is what an auditor runs against the
stored events (verify, event rows, the events feed); `storage/` holds the backends (SQLite,
PostgreSQL), the log follower, the key store and the other SQL stores. Modules here may import
`domain` and each other, never `api`: the entry points use the read side, not the other way
round (tests/unit/test_the_house_has_one_direction.py).
"""

"""The Compliance Ledger's domain: what the business decides and records. At the top, the
model: the aggregates (one module each with its events, whose module and class name are part of
every stored event's topic, so they never move), `vocabulary.py` (every closed set as an enum),
`deadlines.py` (every deadline, and when one has passed), `personal.py` (which event fields are
personal), `values.py` (checks of callers' input) and `errors.py`; in `ledger/`, the one
eventsourcing Application that runs the commands. It imports only the standard library,
`eventsourcing`, `cryptography` (AES-GCM, for crypto-shredding) and itself: no SQL, no HTTP,
nothing of `projections` or `api`.
"""

"""What an auditor runs against the stored events: `verify` (`ledger verify`: recompute the
Merkle log from the events and check every signed checkpoint; `report` is what it finds,
`moved_rows` its second pass), `event_rows` (the events as plain rows, for verify's first
pass) and `events_feed` (the auditors' view of each event: its bytes, its leaf, its meaning).
Modules here may import `domain`, each other, `projections.merkle_log`, `projections.storage`
and the read models' paging (the feed pages as every list does), never `api`
(tests/unit/test_the_house_has_one_direction.py).
"""

"""The Merkle log: every stored event as a leaf of one RFC 9162 tree, and signed checkpoints over it.

`rfc9162` hashes and verifies (stdlib only: an auditor can copy it), `compact_range` is the
tree's O(log n) state, `proof_paths` builds proofs, `leaves` turns an event into leaf bytes,
`store` holds the tables, `sealed_state` the sealer's tracking record, `sealer` follows the log
and seals it, `checkpoints` signs, `proofs` serves checkpoints and proofs. Modules here may
import `domain`, each other and `projections.storage` (the database, the log follower), never
`api` (tests/unit/test_the_house_has_one_direction.py).
"""

"""The application layer of the domain: `Ledger`, the one eventsourcing Application, split by
area (tenants, subjects and consent, staff access, subjects' requests, incidents and
disclosures) over `base.py` (construction, loads, the save, snapshots) and one retry helper
(`retries.py`), with what it stands on: the crypto-shredding mapper and the key store interface
(`shredding.py`, `keys.py`), group commit, the kept copies of subjects, and erasure without
replay. Its commands read get → command → save and answer an `Outcome`. It may import the
standard library, `eventsourcing`, `cryptography` (AES-GCM, for the keys) and `domain`; nothing
of `projections` or `api`, which build on it.
"""

from domain.ledger.application import Ledger
from domain.ledger.base import Outcome

__all__ = ["Ledger", "Outcome"]

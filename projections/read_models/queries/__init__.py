"""What the API may ask of the read models, and the answers: `contract.py` is the one list of
questions (`ReadSide`), `paging.py` the one definition of a page and its limits, `answers.py`
the `ReadModels` object that answers them, composed of one module per area (tenants, subjects,
consent_check, access, data_requests, incidents, due, positions) over `base.py`'s `Queries`.
Modules here may import `domain`, `projections.storage` and the read models' own modules
(tables, sealed columns, failures), never `api`: the API depends on this contract, not the
other way round.
"""

"""The read models: the tables the API answers from, kept by following the event log.

`base.py` says what a read model is (a `Projection`: a name, its tables, one handler per event,
writing through a `Writer`), `writes.py` is the writer that batches their rows into SQL, and
there is one module per read model (tenants, subject_profiles, access_requests, access_log,
data_requests, incidents, disclosures), listed in `all_read_models.py`. The runner and its
batches apply the log to them; `failures.py` and `outages.py` decide what a failed batch means;
`rebuild.py` and `versions.py` make them anew; `queries/` is what the API may ask of them.
Modules here may import `domain`, `projections.storage` and each other, never `api`.
"""

"""One replay in a process of its own, so its peak memory (getrusage maxrss) is its own:
`python -m bench.child rebuild|verify DATABASE_URL DATA_DIR` prints one JSON line with the
events read, the seconds the work took and the peak resident size in kB."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    what, url, data_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    from api import keyfiles
    from api.settings import Settings
    from api.bootstrap import open_stores, read_model_projections

    settings = Settings(database_url=url, data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    stores = open_stores(settings)
    try:
        began = time.perf_counter()
        if what == "rebuild":
            from projections.read_models.rebuild import rebuild

            # As `ledger projections rebuild` does (api/cli/projections.py).
            events = rebuild(stores.ledger, stores.db, read_model_projections(stores))
            ok = True
        elif what == "verify":
            from projections.audit.verify import verify_log

            report = verify_log(
                stores.ledger.recorder, stores.db, keyfiles.signing_key(settings).public_key()
            )
            events, ok = report.events, report.ok
        else:
            raise SystemExit(f"unknown replay {what!r}")
        seconds = time.perf_counter() - began
    finally:
        stores.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"events": events, "seconds": seconds, "peak_kb": peak_kb, "ok": ok}))


if __name__ == "__main__":
    main()

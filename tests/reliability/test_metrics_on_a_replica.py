"""/metrics of a read-only process on a real streaming replica (a hot standby, where nothing can
be written and no table made): every figure read from the store is there, from SELECTs alone,
on the API port and on the metrics port."""

from __future__ import annotations

import httpx
import pytest

from projections.read_models.all_read_models import READ_MODEL_NAMES
from tests.prometheus_scrape import Scrape
from tests.reliability.conftest import LedgerProcesses, free_port, wait_until
from tests.reliability import streaming_replica
from tests.reliability.streaming_replica import Replicated

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TOKEN = "metrics-token-for-the-replica-test-0123"
replicated = streaming_replica.replicated  # the fixture: a primary and its streaming replica


def test_a_read_only_process_on_a_hot_standby_shows_every_store_figure(
    ledger_processes: LedgerProcesses, replicated: Replicated
) -> None:
    procs = ledger_processes
    procs.prepare(replicated.primary.url)
    writer = procs.serve("writer", replicated.primary.url)
    procs.wait_healthy(writer)
    officer = {"Authorization": f"Bearer {procs.token('officer', 'olga')}"}
    auditor = {"Authorization": f"Bearer {procs.token('auditor', 'aude')}"}
    made = httpx.post(f"{writer.url}/v1/tenants", json={"name": "Acme B.V."}, headers=officer,
                      timeout=30).json()
    wait_until(lambda: httpx.get(f"{writer.url}/v1/audit/checkpoint", headers=auditor,
                                 timeout=30).json().get("tree_size", 0) >= made["position"],
               "a checkpoint over the write", context=procs.logs)
    wait_until(lambda: httpx.get(f"{writer.url}/v1/tenants", headers=officer, timeout=30, params={
        "min_position": made["position"]}).status_code == 200, "the read models")
    replicated.caught_up()

    metrics_port = free_port()
    reader = procs.serve("reader", replicated.replica.url, "--read-only",
                         LEDGER_METRICS_TOKEN=TOKEN, LEDGER_METRICS_PORT=str(metrics_port))
    procs.wait_healthy(reader)
    from_api = httpx.get(f"{reader.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=30)
    from_port = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=30)
    for answer in (from_api, from_port):
        assert answer.status_code == 200, answer.text
        shown = Scrape(answer.text)
        assert shown.value("ledger_store_up") == 1
        assert shown.value("ledger_log_head_position") >= made["position"]
        for name in READ_MODEL_NAMES:
            assert shown.value("ledger_projection_lag_positions", read_model=name) == 0, name
        assert shown.value("ledger_unsealed_positions") == 0
        assert shown.value("ledger_checkpoint_tree_size") >= made["position"]
        assert shown.value("ledger_key_epoch") == 1
        assert shown.value("ledger_outbox_queue_depth", channel="webhook") == 0
    assert "read-only transaction" not in reader.log()

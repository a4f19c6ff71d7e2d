"""The API's shared parts: single-flight caching, the batched access log."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from drivetrain.api.services import RequestAuditor, Services
from drivetrain.governance.audit import AuditLog, PendingEntry
from drivetrain.settings import load_settings


def test_concurrent_misses_compute_once(tmp_path: Path) -> None:
    services = Services(load_settings(data_dir=tmp_path))
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 42

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(services.cached("k", slow)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 8 and len(calls) == 1
    assert services.cached("other", lambda: 7) == 7 and len(calls) == 1
    services.close()


def test_access_log_batches_and_flushes_on_close(tmp_path: Path) -> None:
    auditor = RequestAuditor(AuditLog(tmp_path), interval_s=0.2)
    for n in range(50):
        auditor.record(PendingEntry("api_request", "p", "unspecified", {"n": n}))
    auditor.close()
    log = AuditLog(tmp_path)
    entries = log.entries("api_request")
    assert [e.details["n"] for e in entries] == list(range(50))
    report = log.verify()
    assert report.tree_heads < 50  # batched: far fewer signed heads than entries

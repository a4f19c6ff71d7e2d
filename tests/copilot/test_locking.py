"""One writer at a time per index folder; a reader never repairs under a writer."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Event
from pathlib import Path

from drivetrain.copilot import DocumentIndex
from drivetrain.copilot.locking import write_lock


def _hold(folder: str, ready: Event, done: Event) -> None:
    with write_lock(Path(folder)):
        ready.set()
        done.wait(30)


def test_a_reader_does_not_repair_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text("# A\n\nSome text about brake calipers and their bolts.\n")
    index = DocumentIndex.open(tmp_path / "index", dense=False)
    index.add([doc])
    index._lexical.clear()  # as if a writer were between its two commits
    ctx = multiprocessing.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    writer = ctx.Process(target=_hold, args=(str(tmp_path / "index"), ready, done))
    writer.start()
    try:
        assert ready.wait(30)
        reopened = DocumentIndex.open(tmp_path / "index", dense=False)
        assert reopened._lexical.count() == 0  # left alone: the writer is at work
    finally:
        done.set()
        writer.join(30)
    repaired = DocumentIndex.open(tmp_path / "index", dense=False)
    assert repaired._lexical.count() == len(repaired) > 0  # no writer: repaired
    with write_lock(tmp_path / "index", wait=False) as free:
        assert free  # add() released it

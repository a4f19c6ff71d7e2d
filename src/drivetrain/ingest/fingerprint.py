"""Identify which vehicle model (or DBC file) an unknown CAN log comes from.

Every vehicle platform has its own set of frame ids with fixed lengths — the
idea behind openpilot's CAN fingerprints. A log's observed ``(frame id,
length)`` pairs are compared with the messages of each candidate's DBC files:
the score is the share of observed ids the candidate knows *with the right
length*, and ids known with a wrong length count against it. Candidates are
ranked by score, then by how much of their own message set the log shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa

from drivetrain.catalog import available_dbcs, load_dbc, load_vehicle_models


@dataclass(frozen=True, slots=True)
class Match:
    """How well one candidate explains a log's frames."""

    candidate: str
    kind: str  # "model" or "dbc"
    score: float  # share of observed ids known with the right length, minus wrong lengths
    known_ids: int
    wrong_length: int
    coverage: float  # share of the candidate's messages seen in the log


@cache
def _messages(dbc: str) -> dict[int, int]:
    db = load_dbc(dbc)
    return {m.frame_id | (int(m.is_extended) << 31): m.length for m in db.messages.values()}


def observed_ids(frames: pa.Table) -> dict[int, int]:
    """Each (extended-flagged) frame id of ``frames`` with its most common length."""
    ids = frames["frame_id"].to_numpy().astype(np.int64)
    ext = frames["is_extended"].to_numpy(zero_copy_only=False).astype(np.int64)
    lengths = np.asarray([len(d) for d in frames["data"].to_pylist()], dtype=np.int64)
    keys = ids | (ext << 31)
    out: dict[int, int] = {}
    for key in np.unique(keys):
        values, counts = np.unique(lengths[keys == key], return_counts=True)
        out[int(key)] = int(values[np.argmax(counts)])
    return out


def _match(candidate: str, kind: str, known: dict[int, int], seen: dict[int, int]) -> Match:
    right = sum(1 for k, n in seen.items() if known.get(k) == n)
    wrong = sum(1 for k, n in seen.items() if k in known and known[k] != n)
    score = (right - wrong) / max(len(seen), 1)
    coverage = sum(1 for k in known if k in seen) / max(len(known), 1)
    return Match(candidate, kind, score, right, wrong, coverage)


def identify(frames: pa.Table, *, top: int = 5, all_dbcs: bool = False) -> list[Match]:
    """Rank the vehicle models (and with ``all_dbcs`` every opendbc DBC) for ``frames``."""
    seen = observed_ids(frames)
    matches = []
    for model in load_vehicle_models().values():
        if not model.dbc_files:
            continue
        known: dict[int, int] = {}
        for dbc in model.dbc_files:
            known |= _messages(dbc)
        matches.append(_match(model.id, "model", known, seen))
    if all_dbcs:
        matches += [_match(d, "dbc", _messages(d), seen) for d in available_dbcs()]
    matches.sort(key=lambda m: (m.score, m.coverage), reverse=True)
    return matches[:top]

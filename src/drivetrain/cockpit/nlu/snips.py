"""The SNIPS 2017 custom-intent-engines benchmark (sonos/nlu-benchmark), read from a folder.

The folder holds one sub-folder per intent with ``train_<Intent>.json`` (about
300 utterances), ``train_<Intent>_full.json`` (about 2,000) and
``validate_<Intent>.json`` (100). Each utterance is a list of text segments,
some with an ``entity`` (the slot name). Only tests and benchmarks call this,
with the folder they were given: the product never reads benchmark data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from drivetrain.cockpit.nlu.models import Slot, Utterance
from drivetrain.errors import InputError, NotFound

SnipsPart = Literal["train", "train_full", "validate"]

SNIPS_INTENTS = (
    "AddToPlaylist",
    "BookRestaurant",
    "GetWeather",
    "PlayMusic",
    "RateBook",
    "SearchCreativeWork",
    "SearchScreeningEvent",
)


def load_snips(folder: Path, part: SnipsPart = "train_full") -> list[Utterance]:
    """All seven intents' utterances of one part (``train``, ``train_full``, ``validate``)."""
    if not folder.is_dir():
        raise NotFound(
            f"the SNIPS benchmark folder {folder} does not exist",
            hint="pass the 2017-06-custom-intent-engines folder of sonos/nlu-benchmark",
        )
    utterances: list[Utterance] = []
    for intent in SNIPS_INTENTS:
        name = f"train_{intent}_full.json" if part == "train_full" else f"{part}_{intent}.json"
        path = folder / intent / name
        if not path.is_file():
            raise NotFound(f"the SNIPS file {path} is missing")
        # train_PlayMusic_full.json has bytes that are not UTF-8 (see SOURCE.md).
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            rows = json.loads(text)[intent]
        except (json.JSONDecodeError, KeyError) as exc:
            raise InputError(f"{path} is not a SNIPS file of intent {intent}: {exc}") from exc
        utterances.extend(_utterance(row["data"], intent, path) for row in rows)
    return utterances


def _utterance(segments: list[dict[str, str]], intent: str, path: Path) -> Utterance:
    text, slots = "", []
    for segment in segments:
        piece = segment["text"]
        entity = segment.get("entity")
        if entity:
            # Segments sometimes carry the spaces around a value: the slot is the value.
            stripped = piece.strip()
            if stripped:
                start = len(text) + piece.index(stripped)
                slots.append(Slot(entity, start, start + len(stripped), stripped))
        text += piece
    try:
        return Utterance(text, intent, tuple(slots))
    except InputError as exc:  # pragma: no cover - the published files are consistent
        raise InputError(f"{path}: {exc}") from exc

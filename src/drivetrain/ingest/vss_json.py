"""VSS JSON payloads of the MQTT gateway: validation and decoding into long-format rows.

A vehicle publishes to ``vehicles/{vehicle_id}/vss`` either one sample::

    {"ts": "2026-10-01T08:00:00.123456Z", "signals": {"Vehicle.Speed": 42.0}, "msg_id": "m-1"}

or a batch ``{"samples": [<sample>, ...]}``. ``ts`` is an ISO 8601 time with a UTC
offset or an integer of nanoseconds since the epoch. The lake keeps microseconds,
so sub-microsecond digits are dropped here, before duplicates are detected.

Errors come in two grains. A payload that is not JSON, has the wrong shape, a
value that is not a finite number, or a vehicle id other than the topic's is
refused whole (:class:`PayloadRejected`). A signal path outside the catalog
refuses only that signal: the rest of the message is kept, the way a batch
with bad rows keeps its good ones.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from drivetrain.errors import InputError

VEHICLE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
MAX_SAMPLES = 10_000
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_NS = 10**17  # 1973-03-03: anything smaller is almost surely seconds, ms or µs


class PayloadRejected(InputError):
    """A whole message is unusable; the message says why (stored as the quarantine reason)."""

    code = "payload-rejected"


@dataclass(slots=True)
class DecodedPayload:
    """The rows of one message plus the signals refused individually.

    ``rejected`` holds ``(where in the message, reason)`` pairs; the rest of
    the message is good.
    """

    ts_us: list[int] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    msg_id: str | None = None


SignalValue = Annotated[float, Field(allow_inf_nan=False)]


class VssSample(BaseModel):
    """One timestamped set of signal values."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    ts: int | str
    signals: dict[str, SignalValue] = Field(min_length=1, max_length=4096)
    msg_id: str | None = Field(default=None, min_length=1, max_length=128)
    vehicle_id: str | None = None

    @field_validator("ts")
    @classmethod
    def _epoch_ns(cls, value: int | str) -> int:
        return parse_ts_ns(value)


class VssBatch(BaseModel):
    """Several samples of one vehicle in one message."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    samples: list[VssSample] = Field(min_length=1, max_length=MAX_SAMPLES)
    msg_id: str | None = Field(default=None, min_length=1, max_length=128)
    vehicle_id: str | None = None


def parse_ts_ns(value: int | str) -> int:
    """Nanoseconds since the epoch (UTC) from an epoch-ns integer or an ISO 8601 string."""
    if isinstance(value, int):
        if not _MIN_NS <= value < 2**63:
            raise ValueError(
                f"integer ts {value} is not nanoseconds since the epoch "
                "(seconds, ms or µs? multiply up to ns)"
            )
        return value
    match = _ISO.match(value)
    if match is None:
        raise ValueError(
            f"ts {value!r} is not ISO 8601 with a UTC offset, e.g. 2026-10-01T08:00:00.123456Z"
        )
    year, month, day, hour, minute, second, frac, offset = match.groups()
    if offset == "Z":
        tz = UTC
    else:
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tz = timezone(-delta if offset[0] == "-" else delta)
    try:
        whole = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz
        )
    except ValueError as exc:
        raise ValueError(f"ts {value!r} is not a valid time: {exc}") from None
    delta = whole - _EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    return seconds * 10**9 + int((frac or "0").ljust(9, "0"))


def decode_vss_json(
    vehicle_id: str, payload: bytes, known_signals: AbstractSet[str]
) -> DecodedPayload:
    """Decode one ``vehicles/{vehicle_id}/vss`` payload into long-format rows.

    Raises :class:`PayloadRejected` when the message as a whole is unusable.
    """
    samples, msg_id, claimed = _validate(payload)
    if claimed is not None and claimed != vehicle_id:
        raise PayloadRejected(
            f"payload vehicle_id {claimed!r} differs from the topic's {vehicle_id!r}",
            hint="publish each vehicle's data under vehicles/<its own id>/vss",
        )
    decoded = DecodedPayload(msg_id=msg_id)
    for i, sample in enumerate(samples):
        if sample.vehicle_id is not None and sample.vehicle_id != vehicle_id:
            raise PayloadRejected(
                f"sample {i} vehicle_id {sample.vehicle_id!r} differs from the topic's "
                f"{vehicle_id!r}"
            )
        ts_us = int(sample.ts) // 1000
        for signal, value in sample.signals.items():
            if signal not in known_signals:
                decoded.rejected.append(
                    (f"sample {i} signal {signal}", "signal is not in the catalog")
                )
                continue
            decoded.ts_us.append(ts_us)
            decoded.signals.append(signal)
            decoded.values.append(float(value))
    return decoded


def _validate(payload: bytes) -> tuple[list[VssSample], str | None, str | None]:
    """(samples, msg_id, payload vehicle_id) of a single-sample or batch payload."""
    # A cheap look at the top level decides the shape, so errors name the right model.
    is_batch = b'"samples"' in payload
    try:
        if is_batch:
            batch = VssBatch.model_validate_json(payload)
            return list(batch.samples), batch.msg_id, batch.vehicle_id
        sample = VssSample.model_validate_json(payload)
        return [sample], sample.msg_id, sample.vehicle_id
    except ValidationError as exc:
        raise PayloadRejected(_describe(exc, "batch" if is_batch else "sample")) from None


def _describe(exc: ValidationError, shape: str) -> str:
    """A one-line account of a pydantic error: field path and message, first three."""
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "payload"
        if error["type"] == "json_invalid":
            return f"payload is not valid JSON: {error['msg']}"
        parts.append(f"{where}: {error['msg']}")
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return f"invalid VSS JSON {shape}: " + "; ".join(parts) + more

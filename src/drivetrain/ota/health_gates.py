"""Health gates: are updated vehicles sicker than the control group?

Events (DTCs, anomalies) are counted per vehicle over observation windows; a
group's *exposure* is the sum of its windows in vehicle-hours. Under the null
hypothesis "updated rate <= r x control rate" (``r`` = tolerated rate ratio),
and conditioned on the total count ``n = x_updated + x_control``, the updated
vehicles' count is at most Binomial(n, p0) with
``p0 = r·E_updated / (r·E_updated + E_control)`` — the exact conditional test
for comparing two Poisson rates (Przyborowski & Wilenski 1940). The one-sided
p-value is ``P(X >= x_updated)``. The gate

* **fails** when p < alpha *and* the updated vehicles have at least
  ``min_events`` events, so one or two DTCs on a tiny first wave never halt a
  rollout;
* **passes** when p >= alpha and the updated vehicles have at least
  ``min_exposure_h`` vehicle-hours, so an empty or fresh wave never passes on
  absence of evidence;
* is **inconclusive** otherwise (the wave waits).

Signals come from a :class:`HealthSignals` provider. :class:`LakeHealthSignals`
counts rows of the lake's ``dtc_events`` (and, if given, an anomaly table with
``vehicle_id`` and ``ts``) read through a callable — in deployments
``governance.governed_read(lake, "dtc_events", context, fleet)``, so the gate
reads under an access context and is audited like any other read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import polars as pl
import pyarrow as pa
from scipy import stats


@dataclass(frozen=True, slots=True)
class ObservationWindow:
    """Observe ``vehicle_id`` from ``start`` (inclusive) to ``end`` (exclusive), UTC."""

    vehicle_id: str
    start: datetime
    end: datetime

    @property
    def hours(self) -> float:
        return max((self.end - self.start).total_seconds(), 0.0) / 3600.0


@dataclass(frozen=True, slots=True)
class HealthCounts:
    dtc: int = 0
    anomalies: int = 0


class HealthSignals(Protocol):
    """Counts health events of vehicles within windows (one window per vehicle)."""

    def counts(self, windows: Sequence[ObservationWindow]) -> dict[str, HealthCounts]: ...

    def inputs(self) -> dict[str, int]:
        """The lake tables read and their versions (for provenance)."""
        ...


@dataclass(frozen=True, slots=True)
class RateTest:
    """One rate comparison and its verdict: ``pass``, ``fail`` or ``inconclusive``."""

    signal: str
    verdict: str
    updated_events: int
    updated_exposure_h: float
    control_events: int
    control_exposure_h: float
    p_value: float
    tolerated_rate_ratio: float
    alpha: float
    control: str  # "not-yet-updated vehicles" or "same vehicles before install"

    @property
    def updated_rate(self) -> float:
        return self.updated_events / self.updated_exposure_h if self.updated_exposure_h else 0.0

    @property
    def control_rate(self) -> float:
        return self.control_events / self.control_exposure_h if self.control_exposure_h else 0.0

    def evidence(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "verdict": self.verdict,
            "updated_events": self.updated_events,
            "updated_exposure_h": round(self.updated_exposure_h, 3),
            "updated_rate_per_h": self.updated_rate,
            "control_events": self.control_events,
            "control_exposure_h": round(self.control_exposure_h, 3),
            "control_rate_per_h": self.control_rate,
            "p_value": self.p_value,
            "tolerated_rate_ratio": self.tolerated_rate_ratio,
            "alpha": self.alpha,
            "control": self.control,
            "test": "one-sided conditional binomial test of two Poisson rates",
        }


def compare_rates(
    signal: str,
    updated: tuple[int, float],
    control: tuple[int, float],
    *,
    tolerated_rate_ratio: float,
    alpha: float,
    min_events: int,
    min_exposure_h: float,
    control_kind: str = "not-yet-updated vehicles",
) -> RateTest:
    """Test whether the updated group's event rate exceeds the tolerated multiple of control.

    ``updated`` and ``control`` are ``(events, exposure in vehicle-hours)``.
    """
    x_u, e_u = updated
    x_c, e_c = control
    n = x_u + x_c
    if e_u <= 0 or e_c <= 0 or n == 0:
        p_value = 1.0
    else:
        p0 = tolerated_rate_ratio * e_u / (tolerated_rate_ratio * e_u + e_c)
        p_value = float(stats.binom.sf(x_u - 1, n, p0))
    if p_value < alpha and x_u >= min_events:
        verdict = "fail"
    elif p_value >= alpha and e_u >= min_exposure_h and e_c > 0:
        verdict = "pass"
    else:
        verdict = "inconclusive"
    return RateTest(
        signal, verdict, x_u, e_u, x_c, e_c, p_value, tolerated_rate_ratio, alpha, control_kind
    )


class LakeHealthSignals:
    """Health events from lake tables: ``dtc_events`` and, optionally, anomalies.

    ``read_dtc`` returns an Arrow table with at least ``vehicle_id`` and ``ts``
    (e.g. a ``governed_read`` of ``dtc_events``); ``read_anomalies`` likewise.
    ``dtc_statuses`` keeps only DTCs of those statuses (``None``: all).
    ``versions`` returns the versions read, for the decisions' provenance.
    """

    def __init__(
        self,
        read_dtc: Callable[[], pa.Table],
        read_anomalies: Callable[[], pa.Table] | None = None,
        *,
        dtc_statuses: Sequence[str] | None = None,
        versions: Callable[[], Mapping[str, int]] | None = None,
    ) -> None:
        self._read_dtc = read_dtc
        self._read_anomalies = read_anomalies
        self._statuses = list(dtc_statuses) if dtc_statuses is not None else None
        self._versions = versions

    def inputs(self) -> dict[str, int]:
        return dict(self._versions()) if self._versions is not None else {}

    def counts(self, windows: Sequence[ObservationWindow]) -> dict[str, HealthCounts]:
        if not windows:
            return {}
        frame = pl.DataFrame(
            {
                "vehicle_id": [w.vehicle_id for w in windows],
                "start": [w.start for w in windows],
                "end": [w.end for w in windows],
            },
            schema={
                "vehicle_id": pl.String,
                "start": pl.Datetime("us", "UTC"),
                "end": pl.Datetime("us", "UTC"),
            },
        )
        dtc_table = self._read_dtc()
        if self._statuses is not None and "status" in dtc_table.column_names:
            dtc_frame = _events(dtc_table, ["status"]).filter(
                pl.col("status").is_in(self._statuses)
            )
        else:
            dtc_frame = _events(dtc_table, [])
        dtc = _count_in_windows(frame, dtc_frame)
        anomalies = (
            _count_in_windows(frame, _events(self._read_anomalies(), []))
            if self._read_anomalies is not None
            else {}
        )
        return {
            w.vehicle_id: HealthCounts(dtc.get(w.vehicle_id, 0), anomalies.get(w.vehicle_id, 0))
            for w in windows
        }


def _events(table: pa.Table, extra: list[str]) -> pl.DataFrame:
    frame = pl.from_arrow(table.select(["vehicle_id", "ts", *extra]))
    assert isinstance(frame, pl.DataFrame)
    return frame.with_columns(pl.col("ts").dt.convert_time_zone("UTC").dt.cast_time_unit("us"))


def _count_in_windows(windows: pl.DataFrame, events: pl.DataFrame) -> dict[str, int]:
    joined = events.join(windows, on="vehicle_id", how="inner").filter(
        (pl.col("ts") >= pl.col("start")) & (pl.col("ts") < pl.col("end"))
    )
    grouped = joined.group_by("vehicle_id").agg(pl.len().alias("n"))
    return dict(zip(grouped["vehicle_id"].to_list(), grouped["n"].to_list(), strict=True))

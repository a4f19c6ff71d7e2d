"""Streaming deviation alerts: measurements judged as they arrive, one subgroup at a time.

A ``QualityWatch`` holds the Phase I charts of every characteristic (one
``ControlChart`` per chart kind, all characteristics of that kind together) and
is fed measurements — from the MQTT gateway, a file drop, or a replay — in any
batch size. Each characteristic's measurements are buffered until its subgroup
(the master's ``subgroup_size`` consecutive parts) is complete; complete
subgroups of all characteristics are judged in one ``monitor`` call, so an
alert is raised as soon as the subgroup that breaks a rule is complete, never
later than that subgroup.

An alert names the rule(s), characteristic, station, the supplier lot(s) and
part serials of the violating subgroup, its first and last measurement times,
the limits and the recent points. One alert opens an episode: further signals
of the same characteristic are counted into it (``repeats``) until
``quiet_after`` subgroups in a row are in control, so a drifting station raises
one alert, not one per hour. A recorder (``provenance_recorder``) gives each
new alert its provenance record.

Bad measurements do not stop a stream: an unknown characteristic, a value that
is not a finite number, a missing time, or a measurement older than the last
one already taken for its characteristic (the stream keeps time order) is
returned in ``WatchStep.rejected`` with the reason, for the quarantine.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from drivetrain.errors import InputError
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import record_output
from drivetrain.quality.charts import ChartState, ControlChart, control_chart
from drivetrain.quality.subgroups import require

KEY = "characteristic_id"
COLUMNS = ("ts", "station_id", KEY, "part_serial", "value")
RECENT = 10
MODEL, VERSION = "drivetrain.quality.watch", "1"


@dataclass(slots=True)
class QualityAlert:
    """A rule broken by a just-completed subgroup, and its evidence."""

    characteristic_id: str
    station_id: str
    chart: str
    statistic: str
    rules: tuple[str, ...]
    reason: str
    subgroup: int
    first_ts: datetime
    last_ts: datetime
    value: float
    center: float
    lcl: float | None
    ucl: float | None
    lots: tuple[str, ...]
    part_serials: tuple[str, ...]
    recent: tuple[float, ...]
    alert_id: str = ""
    repeats: int = 0

    def summary(self) -> str:
        lots = f", lot {', '.join(self.lots)}" if self.lots else ""
        return (
            f"{self.characteristic_id} at {self.station_id}: {self.reason} "
            f"(subgroup {self.subgroup}, {self.statistic} = {self.value:.4g}{lots})"
        )


@dataclass(slots=True)
class WatchStep:
    """What one feed did: new alerts, signals inside open episodes, refused rows."""

    alerts: list[QualityAlert] = field(default_factory=list)
    repeats: list[QualityAlert] = field(default_factory=list)
    rejected: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    subgroups: int = 0
    measurements: int = 0


Recorder = Callable[[QualityAlert], str]


class QualityWatch:
    """Phase II monitoring of many characteristics, fed measurement batches."""

    def __init__(
        self,
        charts: Mapping[str, ControlChart],
        characteristics: pl.DataFrame,
        *,
        recorder: Recorder | None = None,
        quiet_after: int = 8,
        keep_points: bool = True,
    ) -> None:
        require(characteristics, [KEY, "station_id", "subgroup_size", "chart"], "characteristics")
        self.charts = dict(charts)
        self.master = characteristics.select(KEY, "station_id", "subgroup_size", "chart")
        self.kind_of = dict(self.master.select(KEY, "chart").iter_rows())
        self.size_of = {k: int(v) for k, v in self.master.select(KEY, "subgroup_size").iter_rows()}
        self.station_of = dict(self.master.select(KEY, "station_id").iter_rows())
        self.states: dict[str, ChartState | None] = dict.fromkeys(self.charts)
        self.next_subgroup: dict[str, int] = {}
        for chart in self.charts.values():
            last = chart.points.group_by(KEY).agg(pl.col("subgroup").max())
            self.next_subgroup.update({k: int(v) + 1 for k, v in last.iter_rows()})
        self.last_ts: dict[str, datetime] = {}
        self.pending = pl.DataFrame(schema={c: pl.Float64 if c == "value" else pl.String for c in (*COLUMNS, "lot_id")})  # fmt: skip
        self.pending = self.pending.with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
        self.recent: dict[str, deque[float]] = {}
        self.open: dict[str, QualityAlert] = {}
        self.quiet: dict[str, int] = {}
        self.recorder = recorder
        self.quiet_after = quiet_after
        self.keep_points = keep_points
        self.judged: dict[str, list[pl.DataFrame]] = {kind: [] for kind in self.charts}

    def points(self, characteristic_id: str) -> pl.DataFrame:
        """Phase I and the Phase II points judged so far of one characteristic (for a chart)."""
        kind = self.kind_of.get(characteristic_id)
        if kind not in self.charts:
            raise InputError(f"no chart of characteristic {characteristic_id!r}")
        frames = [self.charts[kind].points, *self.judged[kind]]
        return pl.concat(frames, how="vertical").filter(pl.col(KEY) == characteristic_id)

    @classmethod
    def from_history(
        cls,
        history: pl.DataFrame,
        characteristics: pl.DataFrame,
        *,
        rules: str | Sequence[str] = "western_electric",
        recorder: Recorder | None = None,
        keep_points: bool = True,
        **options: float | str,
    ) -> QualityWatch:
        """Phase I limits from ``history`` (``measurement_subgroups`` output), then watch."""
        charts = {}
        for (kind,), frame in history.group_by("chart", maintain_order=True):
            charts[str(kind)] = control_chart(
                frame, str(kind), by=KEY, subgroup="subgroup", rules=rules, **options  # type: ignore[arg-type]
            )
        return cls(charts, characteristics, recorder=recorder, keep_points=keep_points)

    def feed(self, batch: pl.DataFrame) -> WatchStep:
        """Take a batch of measurements; judge every subgroup it completes."""
        step = WatchStep(measurements=batch.height)
        good = self._admit(batch, step)
        if good.height:
            pending = pl.concat([self.pending, good], how="vertical_relaxed")
            complete, self.pending = self._complete(pending)
            for kind, frame in complete.group_by("chart", maintain_order=True):
                self._judge(str(kind[0]), frame, step)
            step.alerts.sort(key=lambda a: (a.first_ts, a.characteristic_id))
            step.repeats.sort(key=lambda a: (a.first_ts, a.characteristic_id))
        return step

    def _admit(self, batch: pl.DataFrame, step: WatchStep) -> pl.DataFrame:
        require(batch, COLUMNS, "measurements")
        if "lot_id" not in batch.columns:
            batch = batch.with_columns(pl.lit(None, dtype=pl.String).alias("lot_id"))
        values = batch.get_column("value")
        cast = values.cast(pl.Float64, strict=False) if values.dtype == pl.String else values.cast(pl.Float64)  # fmt: skip
        ts = batch.get_column("ts")
        if ts.dtype == pl.String:
            ts = ts.str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
        elif ts.dtype == pl.Datetime and getattr(ts.dtype, "time_zone", None) is None:
            raise InputError("measurement times must be UTC-aware", hint="give ts with a zone")
        frame = batch.with_columns(
            cast.alias("value"), ts.cast(pl.Datetime("us", "UTC")).alias("ts"),
            pl.col(KEY).cast(pl.String), pl.col("station_id").cast(pl.String),
            pl.col("part_serial").cast(pl.String), pl.col("lot_id").cast(pl.String),
        ).with_row_index("_row").sort("ts", "_row")  # fmt: skip
        keep = []
        for row in frame.iter_rows(named=True):
            reason = self._refusal(row)
            if reason is None:
                self.last_ts[row[KEY]] = row["ts"]
                keep.append(row["_row"])
            else:
                step.rejected.append((batch.row(row["_row"], named=True), reason))
        admitted = frame.filter(pl.col("_row").is_in(keep)).drop("_row")
        return admitted.select(*COLUMNS, "lot_id")

    def _refusal(self, row: dict[str, Any]) -> str | None:
        key = row[KEY]
        if key not in self.kind_of:
            return "characteristic not in the characteristics master"
        if self.kind_of[key] not in self.charts:
            return "no Phase I limits for this characteristic's chart"
        if row["value"] is None or not math.isfinite(row["value"]):
            return "value is not a finite number"
        if row["ts"] is None:
            return "timestamp is missing or not ISO 8601 with a zone"
        if self.station_of.get(key) != row["station_id"]:
            return f"the characteristic is measured at {self.station_of.get(key)}"
        last = self.last_ts.get(key)
        if last is not None and row["ts"] < last:
            return f"out of order: earlier than the last measurement taken ({last.isoformat()})"
        return None

    def _complete(self, pending: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        sizes = pl.DataFrame({KEY: list(self.size_of), "_n": list(self.size_of.values())})
        starts = pl.DataFrame({KEY: list(self.next_subgroup), "_next": list(self.next_subgroup.values())})  # fmt: skip
        ranked = (
            pending.join(sizes, on=KEY, how="left")
            .join(starts, on=KEY, how="left")
            .with_columns(pl.col("_next").fill_null(1))
            .sort(KEY, "ts", maintain_order=True)
            .with_columns(
                pl.int_range(pl.len()).over(KEY).alias("_i"), pl.len().over(KEY).alias("_count")
            )
        )
        full = pl.col("_i") < (pl.col("_count") // pl.col("_n")) * pl.col("_n")
        complete = ranked.filter(full).with_columns(
            (pl.col("_next") + pl.col("_i") // pl.col("_n")).alias("subgroup"),
            pl.col(KEY).replace_strict(self.kind_of, return_dtype=pl.String).alias("chart"),
        )
        for key, top in complete.group_by(KEY).agg(pl.col("subgroup").max()).iter_rows():
            self.next_subgroup[key] = int(top) + 1
        rest = ranked.filter(~full).select(pending.columns)
        return complete, rest

    def _judge(self, kind: str, frame: pl.DataFrame, step: WatchStep) -> None:
        chart = self.charts[kind]
        result = chart.monitor(frame.select(KEY, "subgroup", "value"), self.states[kind])
        self.states[kind] = result.state
        if self.keep_points:
            self.judged[kind].append(result.points)
        primary = result.points.filter(pl.col("statistic") == result.points["statistic"][0])
        step.subgroups += primary.height
        for key, value in primary.sort(KEY, "subgroup").select(KEY, "value").iter_rows():
            self.recent.setdefault(key, deque(maxlen=RECENT)).append(float(value))
        flagged: dict[tuple[str, int], dict[str, Any]] = {}
        for r in result.signals().iter_rows(named=True):  # primary first: it names the alert
            flagged.setdefault((r[KEY], r["subgroup"]), r)
        parts = frame.group_by(KEY, "subgroup").agg(
            pl.col("ts").min().alias("first_ts"),
            pl.col("ts").max().alias("last_ts"),
            pl.col("lot_id").drop_nulls().unique().sort().alias("lots"),
            pl.col("part_serial").alias("serials"),
        )
        evidence = {(r[KEY], r["subgroup"]): r for r in parts.iter_rows(named=True)}
        # each characteristic's subgroups in order, so an episode closes (or not) exactly as
        # it would have with one subgroup per feed
        for key, subgroup in primary.select(KEY, "subgroup").sort(KEY, "subgroup").iter_rows():
            point = flagged.get((key, subgroup))
            if point is None:
                if key in self.open:
                    self.quiet[key] = self.quiet.get(key, 0) + 1
                    if self.quiet[key] >= self.quiet_after:
                        del self.open[key]
                continue
            alert = self._alert(kind, point, evidence[(key, subgroup)])
            self.quiet[key] = 0
            if key in self.open:
                self.open[key].repeats += 1
                step.repeats.append(alert)
                continue
            if self.recorder is not None:
                alert.alert_id = self.recorder(alert)
            self.open[key] = alert
            step.alerts.append(alert)

    def _alert(self, kind: str, point: dict[str, Any], parts: dict[str, Any]) -> QualityAlert:
        key = point[KEY]

        def limit(value: float | None) -> float | None:
            return None if value is None or not math.isfinite(value) else float(value)

        return QualityAlert(
            characteristic_id=key,
            station_id=self.station_of[key],
            chart=kind,
            statistic=point["statistic"],
            rules=tuple(point["rules"]),
            reason=point["reason"],
            subgroup=int(point["subgroup"]),
            first_ts=parts["first_ts"],
            last_ts=parts["last_ts"],
            value=float(point["value"]),
            center=float(point["center"]),
            lcl=limit(point["lcl"]),
            ucl=limit(point["ucl"]),
            lots=tuple(parts["lots"]),
            part_serials=tuple(parts["serials"]),
            recent=tuple(self.recent.get(key, ())),
        )


def provenance_recorder(
    audit: AuditLog,
    *,
    principal: str,
    inputs: Mapping[str, int],
    sources: Sequence[str],
    charts: Mapping[str, ControlChart],
    purpose: str = "manufacturing_quality",
) -> Recorder:
    """A recorder that gives each new alert a provenance record (its id becomes the alert's)."""

    def record(alert: QualityAlert) -> str:
        chart = charts[alert.chart]
        limits = chart.parameters.filter(pl.col(KEY) == alert.characteristic_id).row(0, named=True)
        return record_output(
            audit,
            kind="quality_alert",
            model=MODEL,
            version=VERSION,
            params={
                "characteristic_id": alert.characteristic_id,
                "station_id": alert.station_id,
                "chart": alert.chart,
                "rules": list(chart.options.rules),
                "violated": list(alert.rules),
                "subgroup": alert.subgroup,
                "first_ts": alert.first_ts.isoformat(),
                "last_ts": alert.last_ts.isoformat(),
                "value": alert.value,
                "limits": {
                    "center": limits["center"],
                    "sigma": limits["sigma"],
                    "lcl": alert.lcl,
                    "ucl": alert.ucl,
                },
                "phase1_subgroups": limits["used"],
                "lots": list(alert.lots),
                "part_serials": list(alert.part_serials),
            },
            inputs=inputs,
            sources=sources,
            principal=principal,
            purpose=purpose,
        )

    return record

"""Control charts over many characteristics in one call: Phase I limits, Phase II monitoring.

``control_chart`` takes a long table — one row per measurement (X̄-R, X̄-S,
I-MR, EWMA, CUSUM) or per inspected sample (p, np, c, u) — keyed by the
characteristic's columns and a ``subgroup`` column that orders the points.
It estimates each characteristic's limits from that Phase I data (dropping
out-of-control subgroups and revising, see ``limits``), evaluates the run
rules, and returns a ``ControlChart``: its parameters, one row per
characteristic, and its points, one row per characteristic × subgroup ×
plotted statistic. ``ControlChart.monitor`` then judges new subgroups against
the fixed limits (Phase II), carrying a ``ChartState`` from call to call so a
stream evaluated as it arrives flags exactly what one batch would.

Typical use::

    chart = control_chart(history, "xbar_r", by=("station", "characteristic"))
    watch = chart.monitor(todays_measurements)
    watch.signals()          # the points that broke a rule, with the rules' names
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import polars as pl

from drivetrain.errors import InputError
from drivetrain.quality import limits as lim
from drivetrain.quality.memory import cusum, ewma
from drivetrain.quality.rules import HISTORY, RULES, resolve_rules, rule_names, violations
from drivetrain.quality.subgroups import Ragged, keys_of, layout, numeric, require

CHARTS = ("xbar_r", "xbar_s", "imr", "p", "np", "c", "u", "ewma", "cusum")
MEMORY = ("ewma", "cusum")
Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ChartOptions:
    """How limits are set and judged; the defaults are the textbook ones."""

    k: float = 3.0  # sigma multiple of Shewhart limits
    rules: tuple[str, ...] = ("nelson1", "nelson5", "nelson6", "we4")  # Western Electric
    drop_beyond: bool = True  # Phase I: revise limits without out-of-control subgroups
    max_iterations: int = 10
    sigma_method: str = "uwave"  # or "pooled"
    lam: float = 0.2  # EWMA weight λ
    ewma_l: float = 3.0  # EWMA limit width L
    cusum_k: float = 0.5  # CUSUM reference value, standard errors
    cusum_h: float = 5.0  # CUSUM decision interval, standard errors
    headstart: float = 0.0  # CUSUM fast initial response, standard errors


@dataclass(slots=True)
class ChartState:
    """What a Phase II stream remembers per characteristic (rows as ``parameters``)."""

    z_history: Matrix
    beyond_history: npt.NDArray[np.bool_]
    last_value: npt.NDArray[np.float64]
    ewma_z: npt.NDArray[np.float64] | None = None
    ewma_v: npt.NDArray[np.float64] | None = None
    cusum_upper: npt.NDArray[np.float64] | None = None
    cusum_lower: npt.NDArray[np.float64] | None = None
    last_subgroup: list[object] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Monitoring:
    """Phase II points of one call and the state to pass to the next."""

    points: pl.DataFrame
    state: ChartState

    def signals(self) -> pl.DataFrame:
        return signals_of(self.points)


@dataclass(frozen=True)
class ControlChart:
    """Phase I limits of many characteristics, and their points."""

    chart: str
    base: str  # the Shewhart chart whose Phase I estimates the chart uses
    by: tuple[str, ...]
    subgroup: str
    columns: dict[str, str]  # value / count / size column names of the input
    options: ChartOptions
    parameters: pl.DataFrame
    points: pl.DataFrame

    def signals(self) -> pl.DataFrame:
        """Phase I points that break a rule, with the rules' ids and descriptions."""
        return signals_of(self.points)

    def start(self) -> ChartState:
        """A fresh Phase II state: no history, EWMA at the centre, CUSUM at its head start."""
        rows = self.parameters.height
        state = ChartState(
            z_history=np.full((rows, HISTORY), np.nan),
            beyond_history=np.zeros((rows, HISTORY), dtype=bool),
            last_value=np.full(rows, np.nan),
            last_subgroup=[None] * rows,
        )
        if self.chart == "cusum":
            state.cusum_upper = np.full(rows, self.options.headstart)
            state.cusum_lower = np.full(rows, self.options.headstart)
        return state

    def monitor(self, frame: pl.DataFrame, state: ChartState | None = None) -> Monitoring:
        """Judge new subgroups against these limits (Phase II), continuing ``state``."""
        state = self.start() if state is None else state
        groups = _summarise(frame, self.chart, self.by, self.subgroup, self.columns)
        ragged = layout(groups, self.by, self.parameters.select(self.by))
        _check_order(groups, ragged, state, self.subgroup, self.by)
        data = _data(self.chart, groups, ragged, state.last_value)
        lim.check_sizes(self.base, data)
        center = self.parameters.get_column("center").to_numpy()
        sigma = self.parameters.get_column("sigma").to_numpy()
        statistics, state = _statistics(self, data, center, sigma, state)
        primary = statistics[0]
        mask = violations(
            primary.z, primary.beyond, self._rules(), state.z_history, state.beyond_history
        )
        state = _advance(state, primary, ragged, groups.get_column(self.subgroup))
        if data.mean is not None:
            state.last_value = _last(data.mean, state.last_value)
        points = _points(groups, ragged, self, statistics, mask, None, "II")
        return Monitoring(points, state)

    def _rules(self) -> tuple[str, ...]:
        return ("nelson1",) if self.chart in MEMORY else self.options.rules


def control_chart(
    frame: pl.DataFrame,
    chart: str,
    *,
    by: str | Sequence[str] = "characteristic",
    subgroup: str = "subgroup",
    value: str = "value",
    count: str = "count",
    size: str = "size",
    rules: str | Sequence[str] = "western_electric",
    exclude: str | None = None,
    standards: pl.DataFrame | None = None,
    **options: float | str,
) -> ControlChart:
    """Phase I control charts of every characteristic in ``frame``.

    ``chart`` is one of ``CHARTS``. Variables charts read ``value`` (one row
    per measurement); attribute charts read ``count`` (defectives for p/np,
    nonconformities for c/u) and ``size`` (units inspected; c charts may omit
    it) per subgroup. ``options`` are ``ChartOptions`` fields (``k``, ``lam``,
    ``cusum_h``…); ``rules`` a rule set name or rule ids (``rules.RULES``).
    ``exclude`` names a boolean column marking subgroups with a known
    assignable cause: they are plotted but never used for the limits.
    ``standards`` gives known values instead of estimates ("standard given"):
    the key columns with ``center`` and/or ``sigma`` (for p, np, c and u the
    centre is the standard p, c or u).
    """
    if chart not in CHARTS:
        raise InputError(f"unknown chart {chart!r}", hint=f"charts: {', '.join(CHARTS)}")
    try:
        settings = replace(ChartOptions(), rules=resolve_rules(rules), **options)  # type: ignore[arg-type]
    except TypeError as exc:
        raise InputError(f"unknown chart option: {exc}", hint="see ChartOptions") from None
    if settings.sigma_method not in ("uwave", "pooled"):
        raise InputError(f"unknown sigma method {settings.sigma_method!r}; use uwave or pooled")
    keys = keys_of(by)
    columns = {"value": value, "count": count, "size": size}
    if exclude is not None:
        require(frame, [exclude], "measurements")
        if frame.get_column(exclude).dtype != pl.Boolean:
            raise InputError(f"the exclude column {exclude!r} must be boolean (true: leave out)")
    groups = _summarise(frame, chart, keys, subgroup, columns, exclude)
    ragged = layout(groups, keys)
    data = _data(chart, groups, ragged, None)
    base = _base(chart, data)
    lim.check_sizes(base, data)
    excluded = None
    if exclude is not None:
        excluded = ragged.matrix(groups.get_column("_exclude").cast(pl.Float64).to_numpy(), 0.0) > 0
    est = lim.estimate(
        base,
        data,
        k=settings.k,
        drop_beyond=settings.drop_beyond,
        max_iterations=settings.max_iterations,
        sigma_method=settings.sigma_method,
        excluded=excluded,
    )
    if standards is not None:
        _apply_standards(est, ragged, standards, keys)
    parameters = _parameters(ragged, est)
    result = ControlChart(
        chart, base, keys, subgroup, columns, settings, parameters, pl.DataFrame()
    )
    statistics, _ = _statistics(result, data, est.center, est.sigma, result.start())
    primary = statistics[0]
    mask = violations(primary.z, primary.beyond, result._rules())
    points = _points(groups, ragged, result, statistics, mask, est.used, "I")
    return replace(result, points=points)


def signals_of(points: pl.DataFrame) -> pl.DataFrame:
    """The flagged points of a chart with ``rules`` (ids) and ``reason`` (descriptions)."""
    flagged = points.filter(pl.col("signal"))
    masks = flagged.get_column("violations").to_list()
    ids = [rule_names(int(m)) for m in masks]
    reasons = ["; ".join(RULES[r].description for r in names) for names in ids]
    return flagged.with_columns(
        pl.Series("rules", ids, dtype=pl.List(pl.String)), pl.Series("reason", reasons)
    )


def _apply_standards(
    est: lim.Estimate, ragged: Ragged, standards: pl.DataFrame, keys: Sequence[str]
) -> None:
    given = [c for c in ("center", "sigma") if c in standards.columns]
    require(standards, keys, "standards")
    if not given:
        raise InputError("standards need a center or a sigma column (or both)")
    known = ragged.keys.join(
        standards.select([*keys, *given]), on=list(keys), how="left", maintain_order="left"
    )
    for name in given:
        values = known.get_column(name).cast(pl.Float64).to_numpy()
        target = est.center if name == "center" else est.sigma
        have = ~np.isnan(values)
        target[have] = values[have]
    est.standard = ~np.isnan(
        known.get_column(given[0]).cast(pl.Float64).fill_null(np.nan).to_numpy()
    )


def _summarise(
    frame: pl.DataFrame,
    chart: str,
    keys: Sequence[str],
    subgroup: str,
    columns: dict[str, str],
    exclude: str | None = None,
) -> pl.DataFrame:
    if chart in lim.ATTRIBUTES:
        count, size = columns["count"], columns["size"]
        if chart == "c" and size not in frame.columns:
            frame = frame.with_columns(pl.lit(1.0).alias(size))
        require(frame, [*keys, subgroup, count, size], "samples")
        frame = numeric(numeric(frame, count, "samples"), size, "samples")
        aggregate = [pl.col(count).sum().alias("_count"), pl.col(size).sum().alias("_n")]
    else:
        value = columns["value"]
        require(frame, [*keys, subgroup, value], "measurements")
        frame = numeric(frame, value, "measurements")
        aggregate = [
            pl.len().cast(pl.Float64).alias("_n"),
            pl.col(value).mean().alias("_mean"),
            (pl.col(value).max() - pl.col(value).min()).alias("_range"),
            pl.col(value).std(ddof=1).fill_null(np.nan).alias("_sd"),
        ]
    if exclude is not None:
        aggregate.append(pl.col(exclude).fill_null(False).any().alias("_exclude"))
    if frame.get_column(subgroup).null_count():
        raise InputError(f"{frame.get_column(subgroup).null_count()} rows have no {subgroup}")
    return frame.group_by([*keys, subgroup]).agg(aggregate).sort([*keys, subgroup])


def _data(
    chart: str, groups: pl.DataFrame, ragged: Ragged, last: Matrix | None
) -> lim.SubgroupData:
    size = ragged.matrix(groups.get_column("_n").to_numpy())
    if "_count" in groups.columns:
        return lim.SubgroupData(
            size=size, count=ragged.matrix(groups.get_column("_count").to_numpy())
        )
    mean = ragged.matrix(groups.get_column("_mean").to_numpy())
    previous = np.full(mean.shape[0], np.nan) if last is None else last
    moving = np.abs(np.diff(np.concatenate([previous[:, None], mean], axis=1), axis=1))
    return lim.SubgroupData(
        size=size,
        mean=mean,
        range=ragged.matrix(groups.get_column("_range").to_numpy()),
        sd=ragged.matrix(groups.get_column("_sd").to_numpy()),
        moving_range=moving,
    )


def _base(chart: str, data: lim.SubgroupData) -> str:
    if chart not in MEMORY:
        return chart
    n = data.size[data.present]
    if n.max() == 1:
        return "imr"
    if n.min() == 1:
        raise InputError(
            f"an {chart} chart needs subgroups of one size class: single measurements or "
            "subgroups of 2 or more, not both",
            hint="subgroup the single measurements, or chart them apart",
        )
    return "xbar_r" if n.max() <= 10 else "xbar_s"


def _statistics(
    chart: ControlChart, data: lim.SubgroupData, center: Matrix, sigma: Matrix, state: ChartState
) -> tuple[list[lim.Statistic], ChartState]:
    o = chart.options
    if chart.chart not in MEMORY:
        return lim.shewhart(chart.chart, data, center, sigma, o.k), state
    assert data.mean is not None
    shape = data.mean.shape
    mid = np.broadcast_to(center[:, None], shape)
    if chart.chart == "ewma":
        result = ewma(
            data.mean, data.size, center, sigma, o.lam, last_z=state.ewma_z, last_v=state.ewma_v
        )
        state.ewma_z, state.ewma_v = result.last_z, result.last_v
        spread = o.ewma_l * result.se
        return [lim.Statistic("ewma", result.z, mid, result.se, mid - spread, mid + spread)], state
    sums = cusum(
        data.mean,
        data.size,
        center,
        sigma,
        o.cusum_k,
        headstart=o.headstart,
        last_upper=state.cusum_upper,
        last_lower=state.cusum_lower,
    )
    state.cusum_upper, state.cusum_lower = sums.last_upper, sums.last_lower
    zero, ones, h = np.zeros(shape), np.ones(shape), np.full(shape, o.cusum_h)
    none = np.full(shape, np.nan)
    return [
        lim.Statistic("cusum_upper", sums.upper, zero, ones, none, h),
        lim.Statistic("cusum_lower", sums.lower, zero, ones, -h, none, primary=False),
    ], state


def _parameters(ragged: Ragged, est: lim.Estimate) -> pl.DataFrame:
    present = np.zeros(ragged.shape, dtype=bool)
    present[ragged.rows, ragged.cols] = True
    subgroups = present.sum(axis=1)
    used = est.used.sum(axis=1)
    notes = np.where(
        est.unstable,
        "not in control: more than half of the Phase I subgroups are beyond the limits",
        np.where(subgroups < 20, "fewer than 20 Phase I subgroups: limits are provisional", ""),
    )
    if est.standard.size:
        notes = np.where(est.standard, "standard given", notes)
    return ragged.keys.with_columns(
        pl.Series("center", est.center),
        pl.Series("sigma", est.sigma),
        pl.Series("subgroups", subgroups, dtype=pl.Int64),
        pl.Series("used", used, dtype=pl.Int64),
        pl.Series("removed", subgroups - used, dtype=pl.Int64),
        pl.Series("iterations", est.iterations, dtype=pl.Int64),
        pl.Series("in_control", ~est.unstable),
        pl.Series("note", notes, dtype=pl.String),
    )


def _points(
    groups: pl.DataFrame,
    ragged: Ragged,
    chart: ControlChart,
    statistics: list[lim.Statistic],
    mask: npt.NDArray[np.uint16],
    used: npt.NDArray[np.bool_] | None,
    phase: str,
) -> pl.DataFrame:
    base = groups.select([*chart.by, chart.subgroup, pl.col("_n").alias("size")])
    if used is not None:
        base = base.with_columns(pl.Series("used", ragged.flat(used)))
    else:
        base = base.with_columns(pl.lit(False).alias("used"))
    parts = []
    for statistic in statistics:
        bits = mask if statistic.primary else statistic.beyond.astype(np.uint16)
        flat_bits = ragged.flat(bits).astype(np.uint16)
        parts.append(
            base.with_columns(
                pl.lit(statistic.name).alias("statistic"),
                pl.Series("value", ragged.flat(statistic.value)),
                pl.Series("center", ragged.flat(statistic.center)),
                pl.Series("lcl", ragged.flat(statistic.lcl)),
                pl.Series("ucl", ragged.flat(statistic.ucl)),
                pl.Series("violations", flat_bits, dtype=pl.UInt16),
                pl.Series("signal", flat_bits > 0),
                pl.lit(phase).alias("phase"),
            )
        )
    return pl.concat(parts, how="vertical")


def _check_order(
    groups: pl.DataFrame, ragged: Ragged, state: ChartState, subgroup: str, keys: Sequence[str]
) -> None:
    firsts = (
        groups.with_columns(pl.Series("_row", ragged.rows))
        .group_by("_row")
        .agg(pl.col(subgroup).first(), pl.col(keys).first())
    )
    for row, first, *key in firsts.iter_rows():
        last = state.last_subgroup[row]
        if last is not None and not first > last:
            raise InputError(
                f"subgroup {first!r} of {tuple(key)} is not after the last one judged ({last!r})",
                hint="a stream judges subgroups in order: send late measurements as a new "
                "subgroup or re-run Phase I on the corrected history",
            )


def _advance(
    state: ChartState, primary: lim.Statistic, ragged: Ragged, labels: pl.Series
) -> ChartState:
    counts = np.zeros(ragged.shape[0], dtype=np.int64)
    np.add.at(counts, ragged.rows, 1)
    z = np.concatenate([state.z_history, primary.z], axis=1)
    beyond = np.concatenate([state.beyond_history, primary.beyond], axis=1)
    index = counts[:, None] + np.arange(HISTORY)[None, :]
    rows = np.arange(ragged.shape[0])[:, None]
    state.z_history, state.beyond_history = z[rows, index], beyond[rows, index]
    latest = (
        pl.DataFrame({"_row": ragged.rows, "_label": labels})
        .group_by("_row")
        .agg(pl.col("_label").last())  # groups are sorted: a row's last label is its latest
    )
    last = state.last_subgroup.copy()
    for row, label in latest.iter_rows():
        last[row] = label
    state.last_subgroup = last
    return state


def _last(values: Matrix, previous: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    counts = (~np.isnan(values)).sum(axis=1)
    index = np.maximum(counts - 1, 0)
    return np.where(counts > 0, values[np.arange(values.shape[0]), index], previous)

"""Early warning of emerging field issues: a Poisson CUSUM on claim rates, at-risk exposure.

The question a warranty engineer asks each month is "is any build window of
any model failing a component faster than it should?". For every *cell* —
component × model × region × build month — and every month in service ``m``
the vehicles at risk ``n_m`` and claims ``y_m`` come from the maturity-aware
claims table (:mod:`drivetrain.warranty.claims_table`). The expected claims
are ``E_m = n_m · λ0(component, m) · f(model, component)``:

* ``λ0`` is the fleet's claim rate of the component in month ``m``, pooled
  over every cell **except** those already clearly out of line (a first pass
  drops cells whose observed total has a Poisson upper-tail p-value below
  1e-3), so a bad lot does not raise its own baseline;
* ``f`` is the model's own level for that component (observed / expected over
  its in-line cells, shrunk toward 1 with a prior of ``SHRINK`` expected claims),
  so a model that always needed more head units than another is not an
  "emerging" issue.

The default detector is the Poisson **GLR** (generalised likelihood ratio):
at each month in service ``m`` of a cell, the log-likelihood ratio of a raised
claim rate against the expected one over the months so far,
``Y log(Y/E) - (Y - E)`` with ``Y`` and ``E`` the cell's observed and expected
claims up to ``m`` (zero unless ``Y > E``; the rate ratio is estimated, so it
is quick on a strong defect and keeps accumulating on a weak one); a cell
alarms when it reaches ``h``. ``runs="any"`` takes the best run of months
``(k, m]`` instead (for failures that start late in service; it needs a
higher ``h`` for the same false alarms and was slower on early defects in the
evaluation), and ``window_months`` pools adjacent build months (measured: no
earlier on the injected lot, docs/warranty.md).
``method="cusum"`` is Lucas's Poisson CUSUM for a fixed rate ratio ``rho``
(Lucas 1985, "Counted data CUSUMs", *Technometrics* 27), with the exposure
as its time scale: ``S_m = max(0, S_(m-1) + y_m log(rho) - (rho - 1) E_m)``.
Both weigh a claim by what was expected of it, so a small cohort's one
unlucky claim does not alarm. Adjacent alarming build months of one model,
component and region are merged into one alert over a build window.

:func:`naive_alerts` is the rule it is compared with, the classic practice: a
cell alarms when its cumulative claims per thousand reach a fixed threshold of
the component. :func:`relative_alerts` is a stronger baseline: the cell's
cumulative rate against the fleet's at the same month in service.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from drivetrain.errors import InputError
from drivetrain.warranty.claims_table import claim_months, exposure, with_build_month

CELL = ("causal_part", "model_id", "region", "build_month")
SHRINK = 5.0  # expected claims of prior weight on a model's own level
OUTLIER_P = 1e-3
DEFAULT_RHO = 2.0
DEFAULT_H = (
    7.5  # from the evaluation (docs/warranty.md): ~0.2 % of in-line cells alarm in two years
)


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """The CUSUM's design: the rate ratio to detect and the decision interval."""

    method: Literal["glr", "cusum"] = "glr"
    rho: float = DEFAULT_RHO  # the CUSUM's rate ratio (the GLR estimates it)
    h: float = DEFAULT_H
    max_months: int = 36
    window_months: int = 1  # build months pooled at most (1: each build month alone)
    runs: Literal["cumulative", "any"] = "cumulative"  # the GLR's runs: from month 1, or any

    def validate(self) -> None:
        if not self.rho > 1:
            raise InputError(f"rho must be above 1 (the rate increase to detect), got {self.rho}")
        if self.method not in ("glr", "cusum"):
            raise InputError(f"unknown detector {self.method!r}", hint="glr or cusum")
        if self.runs not in ("cumulative", "any"):
            raise InputError(f"unknown runs {self.runs!r}", hint="cumulative or any")
        if not 1 <= self.window_months <= 12:
            raise InputError(f"window_months must be 1..12, got {self.window_months}")
        if not self.h > 0:
            raise InputError(f"h must be positive, got {self.h}")


def cell_months(
    claims: pl.DataFrame, production: pl.DataFrame, as_of: date, *, max_months: int = 36
) -> pl.DataFrame:
    """At risk, observed claims and expected claims per cell and month in service.

    ``production``: ``vehicle_id, model_id, region, build_date, sale_date``;
    ``claims``: ``vehicle_id, causal_part, claim_date`` (and ``repair_date``).
    Returns ``*CELL, mis, at_risk, claims, expected``.
    """
    vehicles = with_build_month(production)
    keys = ["model_id", "region", "build_month"]
    at_risk = exposure(vehicles, as_of, keys, max_months=max_months)
    counted = claim_months(claims, vehicles, as_of, keys, by=["causal_part"], max_months=max_months)
    parts = counted.select("causal_part").unique()
    if at_risk.is_empty() or parts.is_empty():
        return _empty_cells()
    cells = (
        at_risk.join(parts, how="cross")
        .join(counted, on=[*keys, "causal_part", "mis"], how="left")
        .with_columns(pl.col("claims").fill_null(0))
    )
    keep = _in_line(_with_expected(cells, cells))  # pass 1: pooled rate over every cell
    return _with_expected(cells, cells.join(keep, on=list(CELL), how="semi")).select(
        *CELL, "mis", "at_risk", "claims", "expected"
    )


def _empty(**columns: type[pl.DataType]) -> pl.DataFrame:
    """An empty frame of cells with ``columns`` after the cell's keys."""
    return pl.DataFrame(schema={**dict.fromkeys(CELL, pl.String), **columns})


def _empty_cells() -> pl.DataFrame:
    return _empty(mis=pl.Int64, at_risk=pl.Int64, claims=pl.Int64, expected=pl.Float64)


def _with_expected(cells: pl.DataFrame, reference: pl.DataFrame) -> pl.DataFrame:
    """``cells`` with ``expected`` from the pooled rates and model levels of ``reference``."""
    rates = reference.group_by("causal_part", "mis").agg(
        (pl.col("claims").sum() / pl.col("at_risk").sum()).alias("rate")
    )
    pooled = reference.join(rates, on=["causal_part", "mis"]).with_columns(
        (pl.col("at_risk") * pl.col("rate")).alias("e")
    )
    level = pooled.group_by("model_id", "causal_part").agg(
        ((pl.col("claims").sum() + SHRINK) / (pl.col("e").sum() + SHRINK)).alias("level")
    )
    return (
        cells.join(rates, on=["causal_part", "mis"], how="left")
        .join(level, on=["model_id", "causal_part"], how="left")
        .with_columns(
            (
                pl.col("at_risk") * pl.col("rate").fill_null(0.0) * pl.col("level").fill_null(1.0)
            ).alias("expected")
        )
    )


def _in_line(cells: pl.DataFrame) -> pl.DataFrame:
    """The cells whose observed total is not far above expectation (Poisson tail)."""
    totals = cells.group_by(*CELL).agg(pl.col("claims").sum(), pl.col("expected").sum())
    p = stats.poisson.sf(totals["claims"].to_numpy() - 1, np.maximum(totals["expected"], 1e-9))
    return totals.filter(pl.Series(p >= OUTLIER_P)).select(*CELL)


def score_cells(cells: pl.DataFrame, config: DetectorConfig | None = None) -> pl.DataFrame:
    """Score every cell: ``*CELL, statistic, alarm_mis, claims, expected``.

    ``statistic`` is the largest value the detector reached over the months in
    service; ``alarm_mis`` the first month at which it reached ``h`` (null if it
    never did).
    """
    config = config or DetectorConfig()
    config.validate()
    if cells.is_empty():
        return _empty(
            statistic=pl.Float64, alarm_mis=pl.Int64, claims=pl.Int64, expected=pl.Float64
        )
    keys = cells.select(*CELL).unique().sort(*CELL).with_row_index("_g")
    indexed = cells.join(keys, on=list(CELL))
    g, m = indexed["_g"].to_numpy(), indexed["mis"].to_numpy() - 1
    shape = (keys.height, int(m.max()) + 1)
    y, e = np.zeros(shape), np.zeros(shape)
    np.add.at(y, (g, m), indexed["claims"].to_numpy())
    np.add.at(e, (g, m), indexed["expected"].to_numpy())
    family = keys.select(pl.concat_str(["causal_part", "model_id", "region"])).to_series()
    month = keys["build_month"].map_elements(_month_index, return_dtype=pl.Int64).to_numpy()
    statistic = np.zeros(shape[0])
    first = np.full(shape[0], np.iinfo(np.int64).max)
    months = np.arange(1, shape[1] + 1)
    # windows of 1..window_months consecutive build months of one part, model and region:
    # a bad lot spans several, and pooling them is what finds it early
    for width in range(1, config.window_months + 1):
        starts = np.arange(shape[0] - width + 1)
        ends = starts + width - 1
        valid = (family.to_numpy()[starts] == family.to_numpy()[ends]) & (
            month[ends] - month[starts] == width - 1
        )
        starts = starts[valid]
        if not len(starts):
            continue
        wy = sum(y[starts + j] for j in range(width))
        we = sum(e[starts + j] for j in range(width))
        path = (
            _glr(wy, we, cumulative=config.runs == "cumulative")
            if config.method == "glr"
            else _cusum(wy, we, config.rho)
        )
        alarmed = path >= config.h
        when = np.where(alarmed.any(axis=1), months[np.argmax(alarmed, axis=1)], first.max())
        for j in range(width):  # every build month a window covers gets its verdict
            np.maximum.at(statistic, starts + j, path.max(axis=1))
            np.minimum.at(first, starts + j, when)
    alarm = np.where(first == np.iinfo(np.int64).max, 0, first)
    return keys.drop("_g").with_columns(
        pl.Series("statistic", statistic),
        pl.Series("alarm_mis", alarm, dtype=pl.Int64).replace(0, None),
        pl.Series("claims", y.sum(axis=1).astype(np.int64)),
        pl.Series("expected", e.sum(axis=1)),
    )


def _cusum(y: np.ndarray, e: np.ndarray, rho: float) -> np.ndarray:
    """Lucas's Poisson CUSUM for a rate ratio ``rho``, along each row's months."""
    step = y * math.log(rho) - (rho - 1.0) * e
    out = np.zeros_like(step)
    total = np.zeros(step.shape[0])
    for j in range(step.shape[1]):
        total = np.maximum(0.0, total + step[:, j])
        out[:, j] = total
    return out


def _glr(y: np.ndarray, e: np.ndarray, *, cumulative: bool = False) -> np.ndarray:
    """The Poisson GLR statistic: at each month, the largest log-likelihood ratio of a raised
    rate over any run of months ending there (the rate ratio estimated, not fixed); with
    ``cumulative``, over the run from the first month only."""
    cy = np.concatenate([np.zeros((y.shape[0], 1)), np.cumsum(y, axis=1)], axis=1)
    ce = np.concatenate([np.zeros((e.shape[0], 1)), np.cumsum(e, axis=1)], axis=1)
    # runs (k, m]: observed and expected of every start k before every end m
    yy = cy[:, None, 1:] - cy[:, :-1, None]
    ee = np.maximum(ce[:, None, 1:] - ce[:, :-1, None], 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        llr = np.where(yy > ee, yy * np.log(yy / ee) - (yy - ee), 0.0)
    starts = np.arange(y.shape[1])
    llr[:, starts[:, None] > starts[None, :]] = 0.0  # a run starts before it ends
    if cumulative:
        llr[:, 1:, :] = 0.0
    return np.asarray(llr.max(axis=1))


def relative_alerts(cells: pl.DataFrame, ratio: float) -> pl.DataFrame:
    """The relative-rate rule: ``*CELL, statistic, alarm_mis`` where ``statistic`` is the
    largest ratio of the cell's cumulative claim rate to the fleet's at the same month in
    service (once the cell has two claims)."""
    if not ratio > 0:
        raise InputError(f"the rate ratio must be positive, got {ratio}")
    fleet = cells.group_by("causal_part", "mis").agg(
        (pl.col("claims").sum() / pl.col("at_risk").sum()).alias("fleet_rate")
    )
    ordered = (
        cells.join(fleet, on=["causal_part", "mis"])
        .sort(*CELL, "mis")
        .with_columns(
            (pl.col("claims") / pl.col("at_risk")).cum_sum().over(CELL).alias("cum"),
            pl.col("fleet_rate").cum_sum().over(CELL).alias("fleet_cum"),
            pl.col("claims").cum_sum().over(CELL).alias("cum_claims"),
        )
        .with_columns(
            pl.when(pl.col("cum_claims") >= 2)
            .then(pl.col("cum") / pl.col("fleet_cum").clip(lower_bound=1e-12))
            .otherwise(0.0)
            .alias("r")
        )
    )
    return ordered.group_by(*CELL).agg(
        pl.col("r").max().alias("statistic"),
        pl.col("mis").filter(pl.col("r") >= ratio).min().alias("alarm_mis"),
    )


def naive_alerts(cells: pl.DataFrame, thresholds: dict[str, float]) -> pl.DataFrame:
    """The naive claims-threshold rule: a cell alarms once its cumulative claims per thousand
    vehicles at risk reach the component's threshold (``thresholds[causal_part]``, per
    thousand). ``*CELL, statistic, alarm_mis``; ``statistic`` is the largest cumulative rate."""
    limits = pl.DataFrame(
        {"causal_part": list(thresholds), "limit": list(thresholds.values())},
        schema={"causal_part": pl.String, "limit": pl.Float64},
    )
    ordered = (
        cells.sort(*CELL, "mis")
        .with_columns(
            (1000 * pl.col("claims") / pl.col("at_risk")).cum_sum().over(CELL).alias("cum")
        )
        .join(limits, on="causal_part", how="left")
    )
    return ordered.group_by(*CELL).agg(
        pl.col("cum").max().alias("statistic"),
        pl.col("mis").filter(pl.col("cum") >= pl.col("limit")).min().alias("alarm_mis"),
    )


@dataclass(frozen=True, slots=True)
class EmergingIssue:
    """An alert: a component of one model and region failing early over a build window."""

    causal_part: str
    model_id: str
    region: str
    build_months: tuple[str, ...]
    statistic: float
    claims: int
    expected: float
    alarm_mis: int  # the earliest month in service at which a cell of the window alarmed

    @property
    def rate_ratio(self) -> float:
        return self.claims / self.expected if self.expected > 0 else math.inf


def emerging_issues(
    claims: pl.DataFrame,
    production: pl.DataFrame,
    as_of: date,
    config: DetectorConfig | None = None,
) -> list[EmergingIssue]:
    """Every alarming build window at ``as_of``, strongest first."""
    config = config or DetectorConfig()
    scored = score_cells(
        cell_months(claims, production, as_of, max_months=config.max_months), config
    )
    return merge_windows(scored.filter(pl.col("alarm_mis").is_not_null()))


def merge_windows(alarms: pl.DataFrame) -> list[EmergingIssue]:
    """Adjacent alarming build months of one component, model and region as one alert."""
    issues: list[EmergingIssue] = []
    rows = alarms.sort("causal_part", "model_id", "region", "build_month").iter_rows(named=True)
    current: list[dict[str, object]] = []
    for row in rows:
        if current and not _adjacent(current[-1], row):
            issues.append(_issue(current))
            current = []
        current.append(row)
    if current:
        issues.append(_issue(current))
    return sorted(issues, key=lambda i: -i.statistic)


def _month_index(text: object) -> int:
    year, month = str(text).split("-")
    return int(year) * 12 + int(month)


def _adjacent(a: dict[str, object], b: dict[str, object]) -> bool:
    same = all(a[k] == b[k] for k in ("causal_part", "model_id", "region"))
    return same and _month_index(b["build_month"]) - _month_index(a["build_month"]) <= 1


def _issue(rows: Sequence[dict[str, object]]) -> EmergingIssue:
    first = rows[0]
    return EmergingIssue(
        causal_part=str(first["causal_part"]),
        model_id=str(first["model_id"]),
        region=str(first["region"]),
        build_months=tuple(str(r["build_month"]) for r in rows),
        statistic=max(float(str(r["statistic"])) for r in rows),
        claims=sum(int(str(r["claims"])) for r in rows),
        expected=sum(float(str(r["expected"])) for r in rows),
        alarm_mis=min(int(str(r["alarm_mis"])) for r in rows),
    )

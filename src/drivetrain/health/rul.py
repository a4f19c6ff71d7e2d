"""Remaining useful life (RUL) of many units at once, with a calibrated interval.

Input is a long table of operating histories, one row per unit and cycle (or
hour, or km: any numeric, strictly increasing ``time``), with numeric condition
columns. :class:`RulModel` is fitted on run-to-failure histories (each unit's
last row is its failure) and predicts, for the last row of every unit in a
table, the remaining life in the units of ``time``:

- features per unit and row over the trailing ``window`` rows: mean, standard
  deviation and least-squares slope (per unit of ``time``) of every column,
  the drift of that mean from the unit's own first ``baseline`` rows (each
  unit starts with its own wear and manufacturing offsets), and the age
  (time since the unit's first row); columns that are constant in the
  training data are dropped;
- the target is the piecewise-linear RUL, capped at ``cap``: early in life the
  condition columns carry no sign of the remaining life, so the model learns
  "at least ``cap``" there instead of guessing;
- a scikit-learn ``HistGradientBoostingRegressor`` (defaults) fitted on all
  units for the point estimate;
- an interval by split conformalised quantile regression (Romano et al.,
  2019): quantile models at ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``
  are fitted on the training units less a held-out ``calibration_fraction`` of
  units; their scores on the held-out rows within ``cap`` of failure give the
  widening that makes the interval cover the RUL of a new unit in its
  degradation phase with probability ``coverage`` (farther from failure it
  covers more often; measured in ``docs/health.md``). An upper bound that
  reaches ``cap`` is reported as ``inf``: above the cap the model cannot tell
  how much life is left, so the interval is open-ended and still covers the
  true, uncapped RUL whenever it covers the capped one.

A unit whose history is shorter than :attr:`RulModel.min_cycles` rows gets
status ``insufficient_data``, one whose last-row features are not finite
(missing or NaN values in the rows they read) gets ``missing_values``; both
have null ``rul``, ``low`` and ``high``. Scores on NASA C-MAPSS FD001 are in
``docs/health.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import polars as pl
import pyarrow as pa
import sklearn
from sklearn.ensemble import HistGradientBoostingRegressor

from drivetrain.errors import InputError

STATUS_OK = "ok"
STATUS_INSUFFICIENT = "insufficient_data"
STATUS_MISSING = "missing_values"

_AGE = "age"
_ROW = "__row"
_TARGET = "__rul"
_STATS = ("mean", "std", "slope", "drift")
MIN_TRAINING_UNITS = 10


def _frame(table: pa.Table | pl.DataFrame) -> pl.DataFrame:
    if isinstance(table, pl.DataFrame):
        return table
    if isinstance(table, pa.Table):
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame
    raise InputError(
        f"expected a pyarrow.Table or polars.DataFrame, got {type(table).__name__}",
        hint="pass the histories as one long table: unit, time and one column per signal",
    )


def _require_columns(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {', '.join(missing)}",
            hint=f"the table has {', '.join(frame.columns) or 'no columns'}",
        )


def _sorted_histories(frame: pl.DataFrame, unit: str, time: str) -> pl.DataFrame:
    """Check unit and time, and sort rows by unit, then time."""
    if not frame.schema[time].is_numeric():
        raise InputError(
            f"time column {time!r} is {frame.schema[time]}, not numeric",
            hint="give cycles, operating hours or distance; RUL comes out in the same unit",
        )
    for column in (unit, time):
        nulls = frame[column].null_count()
        if nulls:
            raise InputError(f"{nulls} row(s) have no {column!r}", hint="drop or repair them")
    if frame.schema[time].is_float() and not frame[time].is_finite().all():
        raise InputError(f"time column {time!r} has NaN or infinite values")
    duplicated = frame.select(pl.struct(unit, time).is_duplicated()).to_series()
    if duplicated.any():
        first = frame.filter(duplicated).row(0, named=True)
        raise InputError(
            f"{int(duplicated.sum())} rows share a ({unit}, {time}) pair, e.g. "
            f"{unit}={first[unit]!r}, {time}={first[time]!r}",
            hint="keep one row per unit and time (aggregate repeated readings first)",
        )
    return frame.sort(unit, time)


def compute_rul_features(
    table: pa.Table | pl.DataFrame,
    *,
    unit: str,
    time: str,
    columns: Sequence[str],
    window: int,
    baseline: int | None,
) -> pl.DataFrame:
    """Trailing-window features for every row of every unit, sorted by unit and time.

    Adds ``<column>__mean``, ``__std``, ``__slope`` (per unit of ``time``) and,
    with a ``baseline``, ``__drift`` for each column, plus ``age`` and the row's
    index within its unit (``__row``). Rows before a full window or baseline
    hold null or NaN features; missing values propagate as NaN, never filled.
    """
    frame = _frame(table)
    _require_columns(frame, [unit, time, *columns], "the table")
    frame = _sorted_histories(frame, unit, time)
    age = (pl.col(time) - pl.col(time).first()).over(unit).cast(pl.Float64)
    frame = frame.with_columns(
        pl.int_range(pl.len()).over(unit).alias(_ROW),
        age.alias(_AGE),
        *(pl.col(c).cast(pl.Float64).fill_null(float("nan")) for c in columns),
    )
    t = pl.col(_AGE)
    mean_t = t.rolling_mean(window).over(unit)
    var_t = (t * t).rolling_mean(window).over(unit) - mean_t * mean_t
    features: list[pl.Expr] = []
    for c in columns:
        mean = pl.col(c).rolling_mean(window).over(unit)
        # Centred on the unit's first value so E[tx] - E[t]E[x] keeps its precision.
        x = pl.col(c) - pl.col(c).first().over(unit)
        cov = (t * x).rolling_mean(window).over(unit) - mean_t * x.rolling_mean(window).over(unit)
        features += [
            mean.alias(f"{c}__mean"),
            pl.col(c).rolling_std(window).over(unit).alias(f"{c}__std"),
            (cov / var_t).alias(f"{c}__slope"),
        ]
        if baseline is not None:
            start = pl.col(c).head(baseline).mean().over(unit)
            features.append((mean - start).alias(f"{c}__drift"))
    return frame.with_columns(features)


def feature_names(columns: Sequence[str], *, baseline: int | None) -> list[str]:
    """Names of the model inputs :func:`compute_rul_features` makes from ``columns``."""
    stats = _STATS if baseline is not None else _STATS[:-1]
    return [f"{c}__{s}" for c in columns for s in stats] + [_AGE]


class RulModel:
    """Remaining useful life with a conformal interval, fitted on run-to-failure histories.

    ``window`` and ``baseline`` are counts of rows; ``cap`` and the output are in
    the unit of the time column; ``coverage`` is the probability that the
    interval holds the true RUL of a new unit. ``seed`` makes fitting
    deterministic.
    """

    def __init__(
        self,
        *,
        window: int = 10,
        baseline: int | None = 30,
        cap: float = 125.0,
        coverage: float = 0.8,
        calibration_fraction: float = 0.2,
        seed: int = 0,
    ) -> None:
        if window < 2:
            raise InputError(f"window={window}: a slope needs at least 2 rows")
        if baseline is not None and baseline < 1:
            raise InputError(f"baseline={baseline}: give at least 1 row, or None for no drift")
        if not cap > 0:
            raise InputError(f"cap={cap} must be positive")
        if not 0 < coverage < 1:
            raise InputError(f"coverage={coverage} must lie strictly between 0 and 1")
        if not 0 < calibration_fraction < 1:
            raise InputError(f"calibration_fraction={calibration_fraction} must lie in (0, 1)")
        self.window = window
        self.baseline = baseline
        self.cap = float(cap)
        self.coverage = coverage
        self.calibration_fraction = calibration_fraction
        self.seed = seed
        self.unit = ""
        self.time = ""
        self.columns: list[str] = []
        self.dropped_columns: list[str] = []
        self.calibration_units = 0
        self.calibration_rows = 0
        self.widening = 0.0
        self._models: tuple[Any, Any, Any] | None = None

    @property
    def min_cycles(self) -> int:
        """Rows a unit needs before it gets an estimate."""
        return max(self.window, self.baseline or 1)

    def fit(
        self,
        table: pa.Table | pl.DataFrame,
        *,
        unit: str,
        time: str,
        features: Sequence[str] | None = None,
    ) -> Self:
        """Fit on run-to-failure histories: each unit's last row is its failure.

        ``features`` defaults to every numeric column other than ``unit`` and
        ``time``; those constant over the training data are dropped (listed in
        ``dropped_columns``). Units shorter than :attr:`min_cycles` rows add no
        training rows.
        """
        self._models = None
        frame = _frame(table)
        _require_columns(frame, [unit, time, *(features or [])], "the training table")
        if features is None:
            features = [
                c for c, t in frame.schema.items() if c not in (unit, time) and t.is_numeric()
            ]
        columns = list(dict.fromkeys(features))
        if not columns:
            raise InputError("no feature columns", hint="pass features=[...] with numeric columns")
        _require_numeric(frame, columns)
        _reject_missing(frame, unit, columns)
        spread = frame.select((pl.col(c).max() - pl.col(c).min()) for c in columns).row(0)
        self.dropped_columns = [c for c, s in zip(columns, spread, strict=True) if not s]
        self.columns = [c for c in columns if c not in self.dropped_columns]
        if not self.columns:
            raise InputError(
                f"every feature column is constant ({', '.join(columns)})",
                hint="pass signals that change over the units' lives",
            )
        self.unit, self.time = unit, time
        rows = self._features(frame)
        last = pl.col(time).max().over(unit)
        rows = rows.with_columns((last - pl.col(time)).clip(upper_bound=self.cap).alias(_TARGET))
        rows = rows.filter(pl.col(_ROW) >= self.min_cycles - 1)
        units = rows.get_column(unit).unique().sort().to_list()
        if len(units) < MIN_TRAINING_UNITS:
            raise InputError(
                f"{len(units)} unit(s) have at least {self.min_cycles} rows; "
                f"fitting needs {MIN_TRAINING_UNITS} run-to-failure histories",
                hint="add histories, or lower window/baseline",
            )
        rng = np.random.default_rng(self.seed)
        n_calibration = max(2, round(self.calibration_fraction * len(units)))
        held_out = [units[i] for i in rng.permutation(len(units))[:n_calibration]]
        is_calibration = rows.get_column(unit).is_in(held_out).to_numpy()
        names = feature_names(self.columns, baseline=self.baseline)
        x = rows.select(names).to_numpy()
        y = rows.get_column(_TARGET).cast(pl.Float64).to_numpy()
        alpha = 1.0 - self.coverage
        point = self._regressor().fit(x, y)
        low = self._regressor(quantile=alpha / 2)
        high = self._regressor(quantile=1 - alpha / 2)
        train = ~is_calibration
        low.fit(x[train], y[train])
        high.fit(x[train], y[train])
        # Calibrate on the rows within `cap` of failure (label-conditional conformal):
        # there the interval matters, and the many easy rows at the cap would
        # otherwise make it too narrow near failure.
        degrading = is_calibration & (y < self.cap)
        x_cal, y_cal = x[degrading], y[degrading]
        scores = np.maximum(low.predict(x_cal) - y_cal, y_cal - high.predict(x_cal))
        n = len(scores)
        level = min(1.0, math.ceil((n + 1) * self.coverage) / n)
        self.widening = float(np.quantile(scores, level, method="higher"))
        self.calibration_units, self.calibration_rows = len(held_out), n
        self._models = (point, low, high)
        return self

    def predict(self, table: pa.Table | pl.DataFrame) -> pa.Table:
        """RUL at the last row of every unit: unit, time, observations, rul, low, high, status."""
        if self._models is None:
            raise InputError("the RUL model is not fitted", hint="call fit(...) first")
        frame = _frame(table)
        _require_columns(frame, [self.unit, self.time, *self.columns], "the table to score")
        _require_numeric(frame, self.columns)
        names = feature_names(self.columns, baseline=self.baseline)
        rows = self._features(frame)
        last = rows.filter(pl.col(_ROW) == pl.len().over(self.unit) - 1).select(
            self.unit, self.time, (pl.col(_ROW) + 1).cast(pl.Int64).alias("observations"), *names
        )
        finite = pl.all_horizontal(pl.col(n).is_finite().fill_null(False) for n in names)
        last = last.with_columns(
            pl.when(pl.col("observations") < self.min_cycles)
            .then(pl.lit(STATUS_INSUFFICIENT))
            .when(~finite)
            .then(pl.lit(STATUS_MISSING))
            .otherwise(pl.lit(STATUS_OK))
            .alias("status")
        )
        ok = (last.get_column("status") == STATUS_OK).to_numpy()
        x = last.filter(pl.Series(ok)).select(names).to_numpy()
        rul, low, high = (np.full(len(last), np.nan) for _ in range(3))
        if len(x):
            point, lower, upper = self._models
            estimate = np.clip(point.predict(x), 0.0, self.cap)
            lo = np.clip(lower.predict(x) - self.widening, 0.0, estimate)
            hi = np.maximum(upper.predict(x) + self.widening, estimate)
            rul[ok], low[ok], high[ok] = estimate, lo, np.where(hi >= self.cap, np.inf, hi)
        out = last.select(self.unit, self.time, "observations", "status").with_columns(
            pl.Series("rul", rul, nan_to_null=True),
            pl.Series("low", low, nan_to_null=True),
            pl.Series("high", high, nan_to_null=True),
        )
        return out.select(
            self.unit, self.time, "observations", "rul", "low", "high", "status"
        ).to_arrow()

    def describe(self) -> dict[str, object]:
        """Model, version and parameters, for the provenance record of its outputs."""
        return {
            "model": "drivetrain.health.rul.RulModel",
            "regressor": f"scikit-learn {sklearn.__version__} HistGradientBoostingRegressor",
            "interval": "split conformalised quantile regression",
            "window": self.window,
            "baseline": self.baseline,
            "cap": self.cap,
            "coverage": self.coverage,
            "calibration_fraction": self.calibration_fraction,
            "seed": self.seed,
            "unit": self.unit,
            "time": self.time,
            "columns": list(self.columns),
            "dropped_columns": list(self.dropped_columns),
            "calibration_units": self.calibration_units,
            "calibration_rows": self.calibration_rows,
            "widening": self.widening,
        }

    def _features(self, frame: pl.DataFrame) -> pl.DataFrame:
        return compute_rul_features(
            frame,
            unit=self.unit,
            time=self.time,
            columns=self.columns,
            window=self.window,
            baseline=self.baseline,
        )

    def _regressor(self, quantile: float | None = None) -> Any:
        if quantile is None:
            return HistGradientBoostingRegressor(random_state=self.seed)
        return HistGradientBoostingRegressor(
            loss="quantile", quantile=quantile, random_state=self.seed
        )


def _require_numeric(frame: pl.DataFrame, columns: Sequence[str]) -> None:
    for c in columns:
        if not frame.schema[c].is_numeric():
            raise InputError(
                f"feature column {c!r} is {frame.schema[c]}, not numeric",
                hint="leave it out of features=[...] or convert it to numbers",
            )


def _reject_missing(frame: pl.DataFrame, unit: str, columns: Sequence[str]) -> None:
    """Training needs complete histories: say which column and unit has gaps."""
    for c in columns:
        bad = pl.col(c).is_null()
        if frame.schema[c].is_float():
            bad = bad | ~pl.col(c).is_finite()
        rows = frame.filter(bad)
        if rows.height:
            raise InputError(
                f"training column {c!r} has {rows.height} missing, NaN or infinite value(s), "
                f"first in {unit}={rows.item(0, unit)!r}",
                hint="fit on complete run-to-failure histories (drop or repair those units)",
            )

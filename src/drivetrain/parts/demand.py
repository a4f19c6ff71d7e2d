"""Demand series made fit to forecast: one row per series and period, every case said.

The forecasting code takes demand in the long format `statsforecast` reads
(``unique_id, ds, y``; Nixtla's convention), one row per series and period.
Real issue histories are not like that, and each way they differ is handled
on purpose and counted in a ``DemandReport``, never silently:

* **negative quantities** are returns or corrections, not demand. By default they
  are an error (the export is suspect); ``negative="zero"`` counts such a period
  as no demand and reports how many there were.
* **gaps** (periods with no row inside a series' span) mean nothing was issued:
  they are filled with zero. **Unknown values** (a row whose quantity is null) are
  dropped at the ends of a series (it starts later or ends sooner) and filled with
  zero inside it; both are counted.
* **superseded parts** (an old part number replaced by a new one) are forecast as
  one series under the newest number of the chain: see ``resolve_supersession``.
* **series too short** to forecast sensibly (fewer than ``min_periods`` periods)
  are kept apart and listed, so that a caller can plan them by hand or with a
  fleet signal only.

Periods are either integers (``freq=1``, as in the carparts benchmark) or
first-of-month dates (``freq="MS"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from drivetrain.errors import InputError

Frequency = Literal[1, "MS"]
NegativePolicy = Literal["error", "zero"]
MIN_PERIODS = 12  # a year of months: below it a level is a guess and a backtest says nothing


@dataclass(frozen=True, slots=True)
class DemandReport:
    """What preparing the demand did, series by series where it matters."""

    series: int = 0
    periods: int = 0
    negative_periods: int = 0
    gaps_filled: int = 0
    unknown_filled: int = 0
    unknown_trimmed: int = 0
    superseded: dict[str, str] = field(default_factory=dict)
    too_short: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The report as sentences, for a command's output."""
        out = [f"{self.series:,} series, {self.periods:,} series-periods"]
        if self.negative_periods:
            out.append(f"{self.negative_periods} negative periods (returns) counted as no demand")
        if self.gaps_filled:
            out.append(f"{self.gaps_filled} missing periods filled with zero demand")
        if self.unknown_filled or self.unknown_trimmed:
            out.append(
                f"{self.unknown_filled} unknown quantities inside a series read as zero, "
                f"{self.unknown_trimmed} at a series' ends dropped"
            )
        if self.superseded:
            out.append(f"{len(self.superseded)} series of superseded part numbers merged into their successor's")
        if self.too_short:
            shown = ", ".join(self.too_short[:5]) + (" ..." if len(self.too_short) > 5 else "")
            out.append(f"{len(self.too_short)} series too short to forecast: {shown}")
        return out


@dataclass(frozen=True, slots=True)
class PreparedDemand:
    """Series ready to forecast, the short ones apart, and what was done."""

    series: pl.DataFrame  # unique_id, ds, y: complete, non-negative, long enough
    short: pl.DataFrame  # the same columns, the series below min_periods
    report: DemandReport


def resolve_supersession(supersedes: Mapping[str, str | None]) -> dict[str, str]:
    """Map every superseded part number to the newest number of its chain.

    ``supersedes`` maps a part number to the number it replaces (``None`` if it
    replaces nothing), as a parts master holds it. A chain A <- B <- C gives
    ``{"A": "C", "B": "C"}``. A part replaced by two successors, or a cycle, is
    an error: the master data must be fixed first.
    """
    successor: dict[str, str] = {}
    for new, old in supersedes.items():
        if old is None or old == "":
            continue
        if old in successor and successor[old] != new:
            raise InputError(
                f"part {old} is superseded by both {successor[old]} and {new}",
                hint="a part number has one successor; fix the parts master",
            )
        successor[old] = new
    final: dict[str, str] = {}
    for old, first in successor.items():
        seen = [old]
        current = first
        while current in successor:
            if current in seen:
                chain = " -> ".join([*seen, current])
                raise InputError(
                    f"the supersession chain {chain} is a cycle",
                    hint="fix the parts master: a part cannot replace itself",
                )
            seen.append(current)
            current = successor[current]
        final[old] = current
    return final


def _period_grid(first: pl.Expr, last: pl.Expr, freq: Frequency) -> pl.Expr:
    if freq == 1:
        return pl.int_ranges(first, last + 1)
    return pl.date_ranges(first, last, interval="1mo")


def prepare_demand(
    frame: pl.DataFrame,
    *,
    freq: Frequency = "MS",
    negative: NegativePolicy = "error",
    min_periods: int = MIN_PERIODS,
    superseded: Mapping[str, str] | None = None,
) -> PreparedDemand:
    """Validate and complete long-format demand (``unique_id, ds, y``).

    ``superseded`` (from ``resolve_supersession``) renames old part numbers
    before the series are summed by period; ids of the form ``part@location``
    keep their location. Rows repeated for one series and period are summed
    (two issues in one month are one month's demand).
    """
    missing = {"unique_id", "ds", "y"} - set(frame.columns)
    if missing:
        raise InputError(
            f"demand lacks the column(s) {', '.join(sorted(missing))}",
            hint="demand is long format: unique_id, ds (period), y (units issued)",
        )
    if min_periods < 2:
        raise InputError(f"min_periods {min_periods} is below 2", hint="use 2 or more")
    want = pl.Int64 if freq == 1 else pl.Date
    try:
        df = frame.select(
            pl.col("unique_id").cast(pl.String),
            pl.col("ds").cast(want),
            pl.col("y").cast(pl.Float64),
        )
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"demand columns cannot be read as unique_id text, ds {want}, y number: {exc}",
            hint="periods are integers (freq=1) or first-of-month dates (freq='MS')",
        ) from exc
    if df["unique_id"].null_count() or df["ds"].null_count():
        raise InputError("demand has rows without a series id or a period", hint="fix the export")
    if freq == "MS" and df.filter(pl.col("ds").dt.day() != 1).height:
        raise InputError("monthly demand periods must be the first day of the month")
    negatives = df.filter(pl.col("y") < 0)
    if negatives.height and negative == "error":
        first = negatives.row(0, named=True)
        raise InputError(
            f"{negatives.height} periods have negative demand, e.g. {first['unique_id']} "
            f"at {first['ds']}: {first['y']}",
            hint="negative issues are returns; pass negative='zero' (--returns-as-zero) "
            "to count them as no demand",
        )
    renamed: dict[str, str] = {}
    if superseded:
        parts = pl.col("unique_id").str.splitn("@", 2).struct
        part, place = parts.field("field_0"), parts.field("field_1")
        mapping = pl.DataFrame(
            {"_part": list(superseded), "_new": list(superseded.values())},
            schema={"_part": pl.String, "_new": pl.String},
        )
        df = (
            df.with_columns(part.alias("_part"), place.alias("_place"))
            .join(mapping, on="_part", how="left")
            .with_columns(
                pl.when(pl.col("_new").is_null())
                .then(pl.col("unique_id"))
                .when(pl.col("_place").is_null())
                .then(pl.col("_new"))
                .otherwise(pl.col("_new") + "@" + pl.col("_place"))
                .alias("_id")
            )
        )
        renamed = dict(
            df.filter(pl.col("_new").is_not_null())
            .select("unique_id", "_id")
            .unique()
            .iter_rows()
        )
        df = df.select(pl.col("_id").alias("unique_id"), "ds", "y")
    df = df.with_columns(pl.col("y").clip(lower_bound=0))
    # unknown (null) quantities: dropped at the ends of a series, zero inside it
    known = df.filter(pl.col("y").is_not_null())
    span = known.group_by("unique_id").agg(
        pl.col("ds").min().alias("_first"), pl.col("ds").max().alias("_last")
    )
    unknown = df.filter(pl.col("y").is_null()).join(span, on="unique_id", how="left")
    summed = known.group_by("unique_id", "ds").agg(pl.col("y").sum())
    within = pl.col("ds").is_between(pl.col("_first"), pl.col("_last"))
    trimmed = unknown.filter(~within | pl.col("_first").is_null()).height
    inside = unknown.filter(within).join(
        summed, on=["unique_id", "ds"], how="anti"  # a period with a known row is known
    )
    grid = (
        span.select("unique_id", _period_grid(pl.col("_first"), pl.col("_last"), freq).alias("ds"))
        .explode("ds")
    )
    full = (
        grid.join(summed, on=["unique_id", "ds"], how="left")
        .with_columns(pl.col("y").fill_null(0.0))
        .sort("unique_id", "ds")
    )
    lengths = full.group_by("unique_id").len()
    short_ids = lengths.filter(pl.col("len") < min_periods)["unique_id"].sort()
    is_short = pl.col("unique_id").is_in(short_ids.implode())
    gaps = full.height - summed.height - inside.select("unique_id", "ds").n_unique()
    report = DemandReport(
        series=lengths.height - short_ids.len(),
        periods=full.height,
        negative_periods=negatives.height,
        gaps_filled=max(gaps, 0),
        unknown_filled=inside.select("unique_id", "ds").n_unique(),
        unknown_trimmed=trimmed,
        superseded=renamed,
        too_short=tuple(short_ids.to_list()),
    )
    return PreparedDemand(series=full.filter(~is_short), short=full.filter(is_short), report=report)

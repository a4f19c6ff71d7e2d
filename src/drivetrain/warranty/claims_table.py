"""The classic warranty table: claims per thousand vehicles by months in service (MIS).

For each cohort of vehicles (by default the month they were built) and each
month in service ``m``, the table gives the claims made in the vehicles' m-th
month of service and, cumulatively, up to it — per thousand vehicles *at risk*:
the cohort's vehicles that had been in service for at least ``m`` months by the
analysis date. That maturity rule is what makes young and old cohorts
comparable: a cohort sold two months ago has no third-month exposure yet, and
its third-month rate is unknown (null), not zero.

A month in service is counted from the sale date (the warranty clock):
month 1 is the first 30.4375 days (a mean calendar month) after the sale. A
claim's month is that of its repair (``repair_date``; ``claim_date`` when the
table has no repair date), and a claim counts once it is filed
(``claim_date`` on or before the analysis date). Claims whose vehicle is
unknown, or that come before the sale, are not counted here: ingestion
quarantines them.

:func:`exposure` and :func:`claim_months` are the two halves, for any cohort
keys: the early-warning detector uses them per component and build window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from drivetrain.errors import InputError

DAYS_PER_MONTH = 365.25 / 12


def require_columns(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise :class:`InputError` naming the columns ``frame`` (the ``what`` table) lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"the {what} table lacks column(s) {', '.join(missing)}",
            hint=f"pass a {what} table with {', '.join(columns)}",
        )


def _matured(vehicles: pl.DataFrame, as_of: date, keys: Sequence[str], max_months: int) -> pl.DataFrame:  # fmt: skip
    """Sold vehicles with the whole months in service each has completed by ``as_of``."""
    return vehicles.filter(pl.col("sale_date") <= as_of).select(
        "vehicle_id",
        *keys,
        "sale_date",
        ((pl.lit(as_of) - pl.col("sale_date")).dt.total_days() / DAYS_PER_MONTH)
        .floor()
        .cast(pl.Int64)
        .clip(upper_bound=max_months)
        .alias("matured"),
    )


def exposure(
    vehicles: pl.DataFrame, as_of: date, keys: Sequence[str], *, max_months: int = 36
) -> pl.DataFrame:
    """Vehicles at risk per cohort (``keys``) and month in service: ``*keys, mis, at_risk``.

    A vehicle is at risk in month ``m`` once it has completed ``m`` months in service.
    """
    require_columns(vehicles, ("vehicle_id", "sale_date", *keys), "vehicles")
    if max_months < 1:
        raise InputError(f"max_months must be at least 1, not {max_months}")
    counts = (
        _matured(vehicles, as_of, keys, max_months)
        .filter(pl.col("matured") >= 1)
        .group_by(*keys, "matured")
        .agg(pl.len().alias("n"))
    )
    months = pl.DataFrame({"mis": list(range(1, max_months + 1))}, schema={"mis": pl.Int64})
    return (
        counts.join(months, how="cross")
        .filter(pl.col("mis") <= pl.col("matured"))
        .group_by(*keys, "mis")
        .agg(pl.col("n").sum().cast(pl.Int64).alias("at_risk"))
    )


def claim_months(
    claims: pl.DataFrame,
    vehicles: pl.DataFrame,
    as_of: date,
    keys: Sequence[str],
    *,
    by: Sequence[str] = (),
    max_months: int = 36,
) -> pl.DataFrame:
    """Claims filed by ``as_of`` per cohort, ``by`` (e.g. the causal part) and month in
    service, counted only in months their vehicle has completed: ``*keys, *by, mis, claims``."""
    require_columns(claims, ("vehicle_id", "claim_date", *by), "claims")
    event = "repair_date" if "repair_date" in claims.columns else "claim_date"
    return (
        claims.filter(pl.col("claim_date") <= as_of)
        .select("vehicle_id", *by, pl.col(event).alias("_event"))
        .join(_matured(vehicles, as_of, keys, max_months), on="vehicle_id", how="inner")
        .filter(pl.col("_event") >= pl.col("sale_date"))
        .with_columns(
            ((pl.col("_event") - pl.col("sale_date")).dt.total_days() / DAYS_PER_MONTH)
            .floor()
            .cast(pl.Int64)
            .add(1)
            .alias("mis")
        )
        .filter(pl.col("mis") <= pl.col("matured"))  # a month not yet complete is not counted
        .group_by(*keys, *by, "mis")
        .agg(pl.len().cast(pl.Int64).alias("claims"))
    )


def claims_per_thousand(
    claims: pl.DataFrame,
    vehicles: pl.DataFrame,
    as_of: date,
    *,
    cohort: str = "build_month",
    max_months: int = 36,
) -> pl.DataFrame:
    """Claims per thousand vehicles at risk, by cohort and month in service.

    ``claims``: ``vehicle_id, claim_date`` (and ``repair_date`` if known);
    ``vehicles``: ``vehicle_id, sale_date`` and the ``cohort`` column (e.g.
    ``build_month``, ``plant``, ``model_id``). Returns one row per cohort and
    month in service 1..``max_months`` that any vehicle of the cohort has
    completed: ``cohort, mis, at_risk, claims, per_thousand, cumulative_per_thousand``.
    """
    require_columns(vehicles, ("vehicle_id", "sale_date", cohort), "vehicles")
    at_risk = exposure(vehicles, as_of, [cohort], max_months=max_months)
    counted = claim_months(claims, vehicles, as_of, [cohort], max_months=max_months)
    table = (
        at_risk.join(counted, on=[cohort, "mis"], how="left")
        .with_columns(pl.col("claims").fill_null(0).cast(pl.Int64))
        .rename({cohort: "cohort"})
        .sort("cohort", "mis")
        .with_columns((1000 * pl.col("claims") / pl.col("at_risk")).alias("per_thousand"))
        .with_columns(
            pl.col("per_thousand").cum_sum().over("cohort").alias("cumulative_per_thousand")
        )
    )
    return table.select(
        "cohort", "mis", "at_risk", "claims", "per_thousand", "cumulative_per_thousand"
    )


def with_build_month(production: pl.DataFrame) -> pl.DataFrame:
    """``production`` with ``build_month`` (``YYYY-MM`` of the build date), the usual cohort."""
    require_columns(production, ("build_date",), "production")
    return production.with_columns(pl.col("build_date").dt.strftime("%Y-%m").alias("build_month"))


def life_ages(
    claims: pl.DataFrame, vehicles: pl.DataFrame, as_of: date, *, warranty_months: int = 36
) -> tuple[np.ndarray, np.ndarray]:
    """Life data of one part over sold ``vehicles``: the age (days since the sale) at each
    vehicle's first claim in ``claims``, and the age of every other vehicle, right-censored
    at ``as_of`` or at the end of warranty (a failure after it is not seen in claims).

    Ages are at least half a day: a failure on the day of the sale is a failure early in it.
    """
    require_columns(claims, ("vehicle_id", "repair_date"), "claims")
    require_columns(vehicles, ("vehicle_id", "sale_date"), "vehicles")
    first = claims.group_by("vehicle_id").agg(pl.col("repair_date").min())
    ages = vehicles.join(first, on="vehicle_id", how="left").with_columns(
        (pl.col("repair_date") - pl.col("sale_date")).dt.total_days().alias("failed"),
        (pl.lit(as_of) - pl.col("sale_date")).dt.total_days().alias("age"),
    )
    horizon = warranty_months * DAYS_PER_MONTH
    failed = ages["failed"].drop_nulls().to_numpy().astype(float)
    running = ages.filter(pl.col("failed").is_null())["age"].to_numpy().astype(float)
    return np.maximum(failed, 0.5), np.clip(running, 0.5, horizon)

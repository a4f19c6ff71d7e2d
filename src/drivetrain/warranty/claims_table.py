"""The classic warranty table: claims per thousand vehicles by months in service (MIS).

For each cohort of vehicles (by default the month they were built) and each
month in service ``m``, the table gives the claims made in the vehicles' m-th
month of service and, cumulatively, up to it — per thousand vehicles *at risk*:
the cohort's vehicles that had been in service for at least ``m`` months by the
analysis date. That maturity rule is what makes young and old cohorts
comparable: a cohort sold two months ago has no third-month exposure yet, and
its third-month rate is unknown (null), not zero.

A month in service is counted from the sale date (the warranty clock):
month 1 is the first 30.4375 days (a mean calendar month) after the sale.
Claims whose vehicle is unknown, or that come before the sale, are not counted
here: ingestion quarantines them.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from drivetrain.errors import InputError

DAYS_PER_MONTH = 365.25 / 12


def _need(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"the {what} table lacks column(s) {', '.join(missing)}",
            hint=f"pass a {what} table with {', '.join(columns)}",
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

    ``claims``: ``vehicle_id, claim_date``; ``vehicles``: ``vehicle_id, sale_date`` and the
    ``cohort`` column (e.g. ``build_month``, ``plant``, ``model_id``). Returns one row per
    cohort and month in service 1..``max_months`` that any vehicle of the cohort has
    reached: ``cohort, mis, at_risk, claims, per_thousand, cumulative_per_thousand``.
    """
    _need(claims, ("vehicle_id", "claim_date"), "claims")
    _need(vehicles, ("vehicle_id", "sale_date", cohort), "vehicles")
    if max_months < 1:
        raise InputError(f"max_months must be at least 1, not {max_months}")
    sold = vehicles.filter(pl.col("sale_date") <= as_of).select(
        "vehicle_id",
        pl.col(cohort).alias("cohort"),
        "sale_date",
        # whole months in service each vehicle has completed by the analysis date
        ((pl.lit(as_of) - pl.col("sale_date")).dt.total_days() / DAYS_PER_MONTH)
        .floor()
        .cast(pl.Int64)
        .clip(upper_bound=max_months)
        .alias("matured"),
    )
    months = pl.DataFrame({"mis": list(range(1, max_months + 1))}, schema={"mis": pl.Int64})
    at_risk = (
        sold.join(months, how="cross")
        .filter(pl.col("mis") <= pl.col("matured"))
        .group_by("cohort", "mis")
        .agg(pl.len().alias("at_risk"))
    )
    counted = (
        claims.filter(pl.col("claim_date") <= as_of)
        .join(sold, on="vehicle_id", how="inner")
        .filter(pl.col("claim_date") >= pl.col("sale_date"))
        .with_columns(
            ((pl.col("claim_date") - pl.col("sale_date")).dt.total_days() / DAYS_PER_MONTH)
            .floor()
            .cast(pl.Int64)
            .add(1)
            .alias("mis")
        )
        .filter(pl.col("mis") <= pl.col("matured"))  # a month not yet complete is not counted
        .group_by("cohort", "mis")
        .agg(pl.len().alias("claims"))
    )
    table = (
        at_risk.join(counted, on=["cohort", "mis"], how="left")
        .with_columns(pl.col("claims").fill_null(0).cast(pl.Int64))
        .sort("cohort", "mis")
        .with_columns((1000 * pl.col("claims") / pl.col("at_risk")).alias("per_thousand"))
        .with_columns(
            pl.col("per_thousand").cum_sum().over("cohort").alias("cumulative_per_thousand")
        )
    )
    return table.select(
        "cohort", "mis", "at_risk", "claims", "per_thousand", "cumulative_per_thousand"
    )

"""From a plant deviation to the field: the vehicles a lot went into and their claims.

The genealogy (``vehicle_build_parts``) says which supplier lot of a part each
vehicle was built with; the warranty claims say which vehicles came back for
that part. :func:`lot_field_rates` sets each lot's claim rate beside the rate of
the part's other lots, with an exact (Clopper–Pearson) interval, so a lot a
quality alert names can be judged by the field: how many vehicles carry it,
how many have claimed, and how much worse than the rest.

Claims per thousand here count vehicles with at least one claim on the part
(repeat repairs of one vehicle count once), over every vehicle built with the
lot — mature or not, so a young lot's rate is a lower bound; the warranty
package's maturity-aware table is the tool for comparing cohorts by age.
"""

from __future__ import annotations

import polars as pl
from scipy import stats

from drivetrain.errors import InputError
from drivetrain.quality.subgroups import require


def lot_field_rates(
    genealogy: pl.DataFrame,
    claims: pl.DataFrame,
    *,
    part_number: str,
    level: float = 0.95,
) -> pl.DataFrame:
    """Per lot of ``part_number``: vehicles, vehicles claimed, per thousand, and vs. the rest.

    ``genealogy`` has ``vehicle_id, part_number, lot_id``; ``claims`` has
    ``vehicle_id, part_number`` (the part replaced). Sorted worst first.
    """
    require(genealogy, ["vehicle_id", "part_number", "lot_id"], "genealogy")
    require(claims, ["vehicle_id", "part_number"], "claims")
    built = genealogy.filter(pl.col("part_number") == part_number).unique(["vehicle_id"])
    if built.is_empty():
        raise InputError(
            f"no vehicle in the genealogy was built with part {part_number}",
            hint="check the part number, or import the plant's build_parts.csv",
        )
    claimed = claims.filter(pl.col("part_number") == part_number).select("vehicle_id").unique()
    marked = built.join(
        claimed.with_columns(pl.lit(True).alias("_claimed")), on="vehicle_id", how="left"
    )
    per_lot = (
        marked.group_by("lot_id")
        .agg(pl.len().alias("vehicles"), pl.col("_claimed").fill_null(False).sum().alias("claimed"))
        .with_columns(
            pl.lit(int(marked.height)).alias("_all"),
            pl.lit(int(marked.get_column("_claimed").fill_null(False).sum())).alias("_all_claimed"),
        )
        .with_columns(
            (pl.col("_all") - pl.col("vehicles")).alias("other_vehicles"),
            (pl.col("_all_claimed") - pl.col("claimed")).alias("other_claimed"),
        )
    )
    alpha = 1.0 - level
    rows = []
    for r in per_lot.iter_rows(named=True):
        n, k = r["vehicles"], r["claimed"]
        low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
        high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
        other = r["other_claimed"] / r["other_vehicles"] if r["other_vehicles"] else None
        rate = k / n
        rows.append(
            {
                "lot_id": r["lot_id"],
                "vehicles": n,
                "claimed": k,
                "per_thousand": 1000 * rate,
                "per_thousand_low": 1000 * low,
                "per_thousand_high": 1000 * high,
                "others_per_thousand": None if other is None else 1000 * other,
                "rate_ratio": None if not other else rate / other,
            }
        )
    return pl.DataFrame(rows).sort("per_thousand", descending=True)

"""Demand classes by ADI and CV² (Syntetos, Boylan & Croston 2005), across many series.

* **ADI**, the average inter-demand interval: the mean number of periods from one
  demand to the next, counted from the start of the series (the convention of
  Kourentzes' ``tsintermittent::idclass``): ``last demand period / demands``.
* **CV²**, the squared coefficient of variation of the non-zero demand sizes
  (sample standard deviation; 0 when a series has a single demand).

The cut-offs 1.32 and 0.49 split the plane into *smooth* (regular, steady
sizes), *erratic* (regular, varying sizes), *intermittent* (sparse, steady
sizes) and *lumpy* (sparse, varying sizes). A series that never had demand is
*no_demand*. The class picks the model family: ETS-type level models for
smooth and erratic demand, Croston-type and temporal-aggregation models for
intermittent and lumpy demand (see ``drivetrain.parts.forecast``).
"""

from __future__ import annotations

from typing import Literal

import polars as pl

ADI_CUT = 1.32
CV2_CUT = 0.49
DemandClass = Literal["smooth", "erratic", "intermittent", "lumpy", "no_demand"]
CLASSES: tuple[DemandClass, ...] = ("smooth", "erratic", "intermittent", "lumpy", "no_demand")


def classify(
    series: pl.DataFrame, *, adi_cut: float = ADI_CUT, cv2_cut: float = CV2_CUT
) -> pl.DataFrame:
    """One row per series: unique_id, periods, demands, adi, cv2, mean_demand, class.

    ``series`` is long format (``unique_id, ds, y``), complete and sorted by
    period within a series (``prepare_demand`` makes it so).
    """
    ordered = series.sort("unique_id", "ds").with_columns(
        pl.int_range(1, pl.len() + 1).over("unique_id").alias("_t")
    )
    nonzero = pl.col("y") > 0
    stats = ordered.group_by("unique_id").agg(
        pl.len().alias("periods"),
        nonzero.sum().alias("demands"),
        pl.col("_t").filter(nonzero).max().alias("_last"),
        pl.col("y").filter(nonzero).mean().alias("_size_mean"),
        pl.col("y").filter(nonzero).std(ddof=1).alias("_size_sd"),
        pl.col("y").mean().alias("mean_demand"),
    )
    adi = pl.col("_last") / pl.col("demands")
    cv2 = ((pl.col("_size_sd") / pl.col("_size_mean")) ** 2).fill_null(0.0)
    out = stats.with_columns(
        pl.when(pl.col("demands") > 0).then(adi).alias("adi"),
        pl.when(pl.col("demands") > 0).then(cv2).alias("cv2"),
    )
    sparse = pl.col("adi") >= adi_cut
    varying = pl.col("cv2") >= cv2_cut
    return (
        out.with_columns(
            pl.when(pl.col("demands") == 0)
            .then(pl.lit("no_demand"))
            .when(~sparse & ~varying)
            .then(pl.lit("smooth"))
            .when(~sparse)
            .then(pl.lit("erratic"))
            .when(~varying)
            .then(pl.lit("intermittent"))
            .otherwise(pl.lit("lumpy"))
            .alias("class")
        )
        .select("unique_id", "periods", "demands", "adi", "cv2", "mean_demand", "class")
        .sort("unique_id")
    )

"""A multivariate comparison detector: pyod's ECOD on each vehicle-day's peer residuals.

The fleet scan judges each condition indicator on its own (CUSUM against the
vehicle's baseline, level against its peers, domain limits). The obvious
library alternative is an unsupervised multivariate outlier detector over all
indicators at once; :func:`ecod_alarms` is that alternative, so that
``drivetrain health evaluate`` can show what it does on the same data.

Each vehicle-day becomes a vector of its indicators' peer z-scores (oriented
so that positive is worse; an indicator the model does not report is 0, i.e.
typical), ECOD (Li et al. 2022, empirical-CDF outlier detection, parameter-free)
scores every vector, and the top ``contamination`` share is flagged. A vehicle
alarms on the first flagged day; the alarm is attributed to the indicator with
the largest z that day, which is what an analyst would look at first.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from pyod.models.ecod import ECOD

from drivetrain.health.anomaly import Detection


def ecod_alarms(detection: Detection, *, contamination: float = 0.01) -> pl.DataFrame:
    """Alarms ``(vehicle_id, indicator, alarm_day, onset_day)`` from ECOD over vehicle-days."""
    wide = detection.scored.pivot(
        on="indicator", index=["vehicle_id", "day"], values="z_fleet"
    ).sort("vehicle_id", "day")
    names = [c for c in wide.columns if c not in ("vehicle_id", "day")]
    if wide.is_empty() or not names:
        return pl.DataFrame(
            schema={"vehicle_id": pl.String, "indicator": pl.String, "alarm_day": pl.Date}
        )
    matrix = np.nan_to_num(wide.select(names).to_numpy().astype(np.float64), nan=0.0)
    model = ECOD(contamination=contamination).fit(matrix)
    flagged = wide.with_columns(
        pl.Series("outlier", model.labels_.astype(bool)),
        pl.Series("indicator", [names[i] for i in np.argmax(matrix, axis=1)]),
    ).filter("outlier")
    first = flagged.group_by("vehicle_id").agg(
        pl.col("day").min().alias("alarm_day"),
        pl.col("indicator").sort_by("day").first(),
    )
    return first.with_columns(pl.col("alarm_day").alias("onset_day"))

"""Rational subgroups: measurements checked, grouped, and laid out for the charts.

A control chart compares variation *within* subgroups (parts made close
together, under the same conditions) with variation *between* them, so how
measurements are grouped decides what the chart can see. ``form_subgroups``
makes the two usual groupings from a measurement table: consecutive parts in
runs of ``size`` (per characteristic), or the parts of each time window
(``every="1h"``, per shift or hour). Analysts who group by other means (a
batch, a fixture) name their own ``subgroup`` column.

``Ragged`` is the layout every chart computes on: one row per characteristic,
one column per subgroup in order, NaN-padded at the end — so ten thousand
characteristics are one array operation, not a loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from drivetrain.errors import InputError

Matrix = npt.NDArray[np.float64]


def keys_of(by: str | Sequence[str]) -> tuple[str, ...]:
    """The characteristic's key columns as a tuple."""
    keys = (by,) if isinstance(by, str) else tuple(by)
    if not keys:
        raise InputError("a chart needs at least one key column to tell characteristics apart")
    return keys


def require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    """Refuse a frame that lacks columns, naming them."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"the {what} lack column(s) {', '.join(missing)}",
            hint=f"they have {', '.join(frame.columns) or 'no columns'}",
        )


def numeric(frame: pl.DataFrame, column: str, what: str) -> pl.DataFrame:
    """``column`` as finite float64, or an InputError naming the first bad row (none dropped)."""
    values = frame.get_column(column)
    if values.dtype == pl.String:
        cast = values.str.strip_chars().cast(pl.Float64, strict=False)
    elif values.dtype.is_numeric() or values.dtype == pl.Null:
        cast = values.cast(pl.Float64)
    else:
        raise InputError(f"the {what}' {column} column holds {values.dtype}, not numbers")
    bad = cast.is_null() | ~cast.is_finite()
    if bad.any():
        first = int(bad.arg_true()[0])
        raise InputError(
            f"{int(bad.sum())} of the {what}' {column} values are missing or not finite numbers "
            f"(first at row {first + 1}: {values[first]!r})",
            hint="fix or remove those measurements; a chart never drops one silently",
        )
    return frame.with_columns(cast.alias(column))


def form_subgroups(
    frame: pl.DataFrame,
    *,
    by: str | Sequence[str] = "characteristic",
    order: str = "ts",
    size: int | None = None,
    every: str | None = None,
    name: str = "subgroup",
) -> pl.DataFrame:
    """Add a ``subgroup`` column: runs of ``size`` consecutive parts, or ``every`` time window.

    Runs are numbered from 1 per characteristic in ``order``; a trailing run
    shorter than ``size`` keeps its smaller size (the charts take unequal
    sizes). Windows are labelled by their start (``every`` as polars durations:
    ``"1h"``, ``"8h"``, ``"1d"``).
    """
    keys = keys_of(by)
    require(frame, [*keys, order], "measurements")
    if (size is None) == (every is None):
        raise InputError("form subgroups either by size or by time window, not both or neither")
    ordered = frame.sort([*keys, order], maintain_order=True)
    if size is not None:
        if size < 1:
            raise InputError(f"a subgroup size of {size} is not possible; give 1 or more")
        label = (pl.int_range(pl.len()).over(keys) // size + 1).cast(pl.Int64)
        return ordered.with_columns(label.alias(name))
    column = ordered.get_column(order)
    if not column.dtype.is_temporal():
        raise InputError(f"time-window subgroups need a timestamp {order!r}, not {column.dtype}")
    return ordered.with_columns(pl.col(order).dt.truncate(str(every)).alias(name))


@dataclass(frozen=True, slots=True)
class Ragged:
    """Characteristics × subgroups: the keys of each row and where each subgroup sits."""

    keys: pl.DataFrame  # one row per characteristic, in row order of the matrices
    rows: npt.NDArray[np.int64]  # per subgroup (in the frame's sorted order): its row
    cols: npt.NDArray[np.int64]  # and its column
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.keys.height, self.width)

    def matrix(self, values: npt.ArrayLike, fill: float = np.nan) -> Matrix:
        """Scatter one value per subgroup into the padded matrix."""
        out = np.full(self.shape, fill, dtype=np.float64)
        out[self.rows, self.cols] = np.asarray(values, dtype=np.float64)
        return out

    def flat(self, matrix: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        """The subgroups' values back out of a matrix, in the frame's order."""
        return matrix[self.rows, self.cols]


def layout(
    groups: pl.DataFrame, keys: Sequence[str], key_frame: pl.DataFrame | None = None
) -> Ragged:
    """The ragged layout of a per-subgroup frame sorted by keys and subgroup.

    With ``key_frame`` (the characteristics a chart already knows, in its row
    order), rows follow it; a characteristic it lacks is an InputError.
    """
    known = key_frame
    if known is None:
        known = groups.select(keys).unique(maintain_order=True)
    indexed = known.with_row_index("_row")
    joined = groups.select(keys).join(
        indexed, on=list(keys), how="left", nulls_equal=True, maintain_order="left"
    )
    if joined.get_column("_row").null_count():
        unknown = joined.filter(pl.col("_row").is_null()).select(keys).unique().head(3)
        raise InputError(
            f"no Phase I limits for {unknown.height} characteristic(s), e.g. "
            f"{', '.join(str(tuple(r)) for r in unknown.iter_rows())}",
            hint="estimate limits on in-control data for them first (Phase I)",
        )
    rows = joined.get_column("_row").to_numpy().astype(np.int64)
    cols = (
        joined.select(pl.int_range(pl.len()).over("_row").alias("_col"))
        .get_column("_col")
        .to_numpy()
        .astype(np.int64)
    )
    width = int(cols.max()) + 1 if cols.size else 0
    return Ragged(keys=known, rows=rows, cols=cols, width=width)

"""Lake reads as polars frames."""

from __future__ import annotations

import polars as pl
import pyarrow as pa


def polars_frame(table: pa.Table) -> pl.DataFrame:
    """An Arrow table (a lake or governed read) as a polars DataFrame, zero-copy where it can."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame

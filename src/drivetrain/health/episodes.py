"""DTC episodes: from a stream of reported codes to when each fault was present.

A vehicle reports a code many times while the fault lasts. An episode is one
such run for a (vehicle, code): from the first report to the clear that ends
it. Status values of ``dtc_events`` (see ``drivetrain.ingest.obd_log``):

- ``pending`` (OBD-II service 07): detected on the current or last drive cycle,
  not yet confirmed; ``confirmed`` (service 03): stored, lights the MIL;
  ``permanent`` (service 0A): confirmed and not erasable by a scan tool. Each of
  these is a report that the code is set.
- ``cleared``: the code was cleared (service 04 by a workshop, or healed by the
  ECU). It ends the open episode; the next report opens a new one, whose
  ``recurrence`` counts the clears before it.

Today's readers and the simulator record only ``pending`` and ``confirmed``,
so with no ``cleared`` rows a code makes one episode per vehicle; pass
``max_gap`` to also end an episode when the code has not been reported for that
long (OBD-II ECUs drop a code by themselves after some 40 fault-free warm-up
cycles). A ``cleared`` row with no open episode (a clear before the code was
ever seen, or a second clear) opens nothing.

Freeze frames: for each episode, the value of chosen telemetry signals at or
just before ``first_seen`` (within ``tolerance``), like the freeze frame an ECU
stores when it sets a code. Everything is done with Polars expressions and
as-of joins over whole tables, never a Python loop per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

import polars as pl
import pyarrow as pa

from drivetrain.catalog import get_signal
from drivetrain.errors import InputError

SET_STATUSES = frozenset({"pending", "confirmed", "permanent"})
CONFIRMED_STATUSES = frozenset({"confirmed", "permanent"})
CLEAR_STATUSES = frozenset({"cleared"})
DEFAULT_TOLERANCE = timedelta(minutes=5)

TS = pa.timestamp("us", tz="UTC")
EPISODE_SCHEMA = pa.schema(
    [
        pa.field("vehicle_id", pa.string(), nullable=False),
        pa.field("dtc", pa.string(), nullable=False),
        pa.field("recurrence", pa.int32(), nullable=False),
        pa.field("first_seen", TS, nullable=False),
        pa.field("last_seen", TS, nullable=False),
        pa.field("confirmed_at", TS),
        pa.field("cleared_at", TS),
        pa.field("occurrences", pa.int64(), nullable=False),
        pa.field("first_status", pa.string(), nullable=False),
        pa.field("ecu", pa.string()),
        pa.field("active", pa.bool_(), nullable=False),
    ]
)

_KEY = ["vehicle_id", "dtc"]
_US_UTC = pl.Datetime("us", "UTC")


def derive_episodes(
    events: pa.Table,
    *,
    max_gap: timedelta | None = None,
    as_of: datetime | None = None,
    telemetry: pa.Table | None = None,
    freeze_frame_signals: Sequence[str] = (),
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> pa.Table:
    """Episodes of each (vehicle, code) in a ``dtc_events`` table (schema ``EPISODE_SCHEMA``).

    ``recurrence`` is 0 for a code's first episode and n after n clears (or
    gaps). ``active`` says the episode is still open at ``as_of`` (default: the
    last event): not cleared, the code's latest episode, and, with ``max_gap``,
    reported within ``max_gap`` of ``as_of``. With ``telemetry`` and
    ``freeze_frame_signals``, one column per signal (named by its VSS path) holds
    the freeze frame; see ``add_freeze_frames``.
    """
    frame = _events_frame(events)
    is_clear = pl.col("status").is_in(list(CLEAR_STATUSES))
    is_set = ~is_clear
    # Rows sorted by (vehicle, code, time): the previous row of the same code is
    # the previous row, so episodes come from shifts and one running sum, with
    # no per-group window (which is several times slower on a fleet's events).
    new_code = (pl.col("vehicle_id") != pl.col("vehicle_id").shift(1)) | (
        pl.col("dtc") != pl.col("dtc").shift(1)
    )
    opens = pl.col("_set") & (pl.col("_first") | pl.col("_clear").shift(1))
    if max_gap is not None:
        gap = pl.col("ts") - pl.col("ts").shift(1)
        opens = opens | (pl.col("_set") & ~pl.col("_first") & (gap > max_gap))
    before_code = pl.when(pl.col("_first")).then(pl.col("_opened") - pl.col("_opens"))
    rows = (
        frame.with_columns(_clear=is_clear, _set=is_set)
        # at one instant a report comes before a clear, so set-and-clear is an episode
        .sort([*_KEY, "ts", "_clear"])
        .with_columns(_first=new_code.fill_null(True))
        .with_columns(_opens=opens.fill_null(False).cast(pl.Int32))
        .with_columns(_opened=pl.col("_opens").cum_sum())
        # episode number within the code: 0 for clears before the code was ever set
        .with_columns(_episode=pl.col("_opened") - before_code.forward_fill())
        .filter(pl.col("_episode") > 0)
    )
    confirmed = pl.col("status").is_in(list(CONFIRMED_STATUSES))
    episodes = rows.group_by([*_KEY, "_episode"], maintain_order=True).agg(
        first_seen=pl.col("ts").filter(is_set).min(),
        last_seen=pl.col("ts").filter(is_set).max(),
        confirmed_at=pl.col("ts").filter(confirmed).min(),
        cleared_at=pl.col("ts").filter(is_clear).min(),
        occurrences=is_set.sum().cast(pl.Int64),
        first_status=pl.col("status").filter(is_set).first(),
        ecu=pl.col("ecu").filter(is_set).first(),
    )
    end = _as_of(as_of, frame)
    active = pl.col("cleared_at").is_null() & (
        pl.col("_episode") == pl.col("_episode").max().over(_KEY)
    )
    if max_gap is not None:
        active = active & ((end - pl.col("last_seen")) <= max_gap)
    result = (
        episodes.with_columns(
            recurrence=(pl.col("_episode") - 1).cast(pl.Int32),
            active=active.fill_null(False),
        )
        .sort([*_KEY, "first_seen"])
        .select(EPISODE_SCHEMA.names)
        .to_arrow()
        .cast(EPISODE_SCHEMA)
    )
    if freeze_frame_signals:
        if telemetry is None:
            raise InputError(
                "freeze-frame signals were asked for without a telemetry table",
                hint="pass telemetry=… (long format: vehicle_id, ts, signal, value)",
            )
        result = add_freeze_frames(result, telemetry, freeze_frame_signals, tolerance=tolerance)
    return result


def add_freeze_frames(
    episodes: pa.Table,
    telemetry: pa.Table,
    signals: Sequence[str],
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> pa.Table:
    """Add one column per signal: its value at or before ``first_seen``, within ``tolerance``.

    ``telemetry`` is in the lake's long format (vehicle_id, ts, signal, value);
    values are SI as in VSS. A signal the vehicle did not report in that window
    gives null; a path missing from the signal catalog is refused (``NotFound``).
    """
    for signal in signals:
        get_signal(signal)
    _require(telemetry, ("vehicle_id", "ts", "signal", "value"), "telemetry")
    frame = cast(pl.DataFrame, pl.from_arrow(episodes)).with_row_index("_row")
    samples = (
        cast(pl.DataFrame, pl.from_arrow(telemetry.select(["vehicle_id", "ts", "signal", "value"])))
        .with_columns(_utc(pl.col("ts")))
        .filter(pl.col("signal").is_in(list(signals)))
    )
    frames = frame.select("_row", "vehicle_id", "first_seen").sort("first_seen")
    for signal in dict.fromkeys(signals):  # once each, in the caller's order
        series = (
            samples.filter(pl.col("signal") == signal)
            .select("vehicle_id", pl.col("ts").alias("_at"), pl.col("value").alias(signal))
            .sort("_at")
        )
        frames = frames.join_asof(
            series,
            left_on="first_seen",
            right_on="_at",
            by="vehicle_id",
            strategy="backward",
            tolerance=tolerance,
            check_sortedness=False,  # sorted above; Polars cannot check it per group
        ).drop("_at")
    joined = frame.join(frames.drop("vehicle_id", "first_seen"), on="_row").sort("_row")
    table = joined.drop("_row").to_arrow()
    return table.cast(
        pa.schema([*episodes.schema, *(pa.field(s, pa.float64()) for s in dict.fromkeys(signals))])
    )


def _events_frame(events: pa.Table) -> pl.DataFrame:
    _require(events, ("vehicle_id", "ts", "dtc", "status"), "dtc_events")
    columns = ["vehicle_id", "ts", "dtc", "status"]
    has_ecu = "ecu" in events.column_names
    frame = cast(
        pl.DataFrame, pl.from_arrow(events.select([*columns, "ecu"] if has_ecu else columns))
    )
    if not has_ecu:
        frame = frame.with_columns(ecu=pl.lit(None, pl.String))
    nulls = [c for c in columns if frame.get_column(c).null_count()]
    if nulls:
        raise InputError(
            f"dtc_events has nulls in {', '.join(nulls)}", hint="every event needs all four"
        )
    unknown = frame.filter(~pl.col("status").is_in(list(SET_STATUSES | CLEAR_STATUSES))).get_column(
        "status"
    )
    if len(unknown):
        counts = unknown.value_counts(sort=True).rows()
        listed = ", ".join(f"{status!r} ({n} rows)" for status, n in counts)
        raise InputError(
            f"dtc_events has unknown status values: {listed}",
            hint=f"use one of {', '.join(sorted(SET_STATUSES | CLEAR_STATUSES))}",
        )
    return frame.with_columns(_utc(pl.col("ts")))


def _utc(column: pl.Expr) -> pl.Expr:
    return column.dt.convert_time_zone("UTC").dt.cast_time_unit("us")


def _require(table: pa.Table, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise InputError(
            f"{name} table lacks column(s) {', '.join(missing)}",
            hint=f"it needs {', '.join(columns)}",
        )
    ts = table.schema.field("ts").type
    if not pa.types.is_timestamp(ts) or ts.tz is None:
        raise InputError(
            f"{name}.ts is {ts}, not a UTC timestamp", hint="use pa.timestamp('us', tz='UTC')"
        )


def _as_of(as_of: datetime | None, frame: pl.DataFrame) -> pl.Expr:
    if as_of is None:
        return pl.lit(frame.get_column("ts").max(), _US_UTC)
    if as_of.tzinfo is None:
        raise InputError(f"as_of {as_of.isoformat()} has no time zone", hint="pass a UTC time")
    return pl.lit(as_of, _US_UTC)

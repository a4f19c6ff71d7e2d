"""DTC episodes: constructed event sequences, freeze frames, and the simulator's ground truth."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pyarrow as pa
import pytest

from drivetrain.demo import SimulationConfig, simulate_fleet
from drivetrain.demo.dtcs import COLD_ENGINE_C
from drivetrain.errors import InputError, NotFound
from drivetrain.health.episodes import EPISODE_SCHEMA, add_freeze_frames, derive_episodes
from drivetrain.lake import Lake

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TS = pa.timestamp("us", tz="UTC")
RPM = "Vehicle.Powertrain.CombustionEngine.Speed"
COOLANT = "Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def events(*rows: tuple[str, float, str, str]) -> pa.Table:
    """Rows of (vehicle, minutes after T0, code, status)."""
    return pa.table(
        {
            "vehicle_id": [r[0] for r in rows],
            "ts": pa.array([at(r[1]) for r in rows], TS),
            "dtc": [r[2] for r in rows],
            "ecu": ["ECM"] * len(rows),
            "status": [r[3] for r in rows],
        }
    )


def telemetry(*rows: tuple[str, float, str, float]) -> pa.Table:
    return pa.table(
        {
            "vehicle_id": [r[0] for r in rows],
            "ts": pa.array([at(r[1]) for r in rows], TS),
            "signal": [r[2] for r in rows],
            "value": [r[3] for r in rows],
        }
    )


SET_CLEAR_SET = events(
    ("v1", 0, "P0301", "pending"),
    ("v1", 10, "P0301", "confirmed"),
    ("v1", 20, "P0301", "confirmed"),
    ("v1", 30, "P0301", "cleared"),
    ("v1", 45, "P0301", "confirmed"),
    ("v2", 5, "P0442", "pending"),
)


def test_set_repeat_clear_set_again_makes_two_episodes() -> None:
    rows = derive_episodes(SET_CLEAR_SET).to_pylist()
    first, second, other = rows
    assert (first["vehicle_id"], first["dtc"], first["recurrence"]) == ("v1", "P0301", 0)
    assert (first["first_seen"], first["last_seen"]) == (at(0), at(20))
    assert (first["confirmed_at"], first["cleared_at"]) == (at(10), at(30))
    assert (first["occurrences"], first["first_status"], first["active"]) == (3, "pending", False)
    assert (second["recurrence"], second["first_seen"], second["occurrences"]) == (1, at(45), 1)
    assert second["cleared_at"] is None and second["active"]
    assert other["dtc"] == "P0442" and other["confirmed_at"] is None and other["active"]


def test_schema_and_row_order_do_not_depend_on_input_order() -> None:
    rows = SET_CLEAR_SET.to_pylist()
    random.Random(4).shuffle(rows)
    shuffled = pa.Table.from_pylist(rows, schema=SET_CLEAR_SET.schema)
    result = derive_episodes(shuffled)
    assert result.schema == EPISODE_SCHEMA
    assert result.equals(derive_episodes(SET_CLEAR_SET))


def test_clear_at_the_same_instant_closes_the_episode_and_stray_clears_open_nothing() -> None:
    rows = derive_episodes(
        events(
            ("v1", 0, "P0128", "cleared"),  # cleared before ever seen: no episode
            ("v1", 5, "P0128", "confirmed"),
            ("v1", 5, "P0128", "cleared"),
            ("v1", 6, "P0128", "cleared"),  # a second clear: still one closed episode
            ("v1", 9, "P0128", "confirmed"),
        )
    ).to_pylist()
    assert [(r["recurrence"], r["first_seen"], r["cleared_at"]) for r in rows] == [
        (0, at(5), at(5)),
        (1, at(9), None),
    ]
    assert [r["active"] for r in rows] == [False, True]


def test_max_gap_ends_a_silent_episode_and_as_of_decides_what_is_still_active() -> None:
    table = events(
        ("v1", 0, "P0562", "confirmed"),
        ("v1", 60, "P0562", "confirmed"),
        ("v1", 60 * 24 * 3, "P0562", "confirmed"),
    )
    assert derive_episodes(table).num_rows == 1
    rows = derive_episodes(table, max_gap=timedelta(days=1)).to_pylist()
    assert [(r["recurrence"], r["occurrences"], r["active"]) for r in rows] == [
        (0, 2, False),
        (1, 1, True),
    ]
    later = derive_episodes(table, max_gap=timedelta(days=1), as_of=at(60 * 24 * 5))
    assert later.column("active").to_pylist() == [False, False]


def test_bad_tables_are_refused_with_the_reason() -> None:
    with pytest.raises(InputError, match="'healed' \\(1 rows\\)"):
        derive_episodes(events(("v1", 0, "P0301", "confirmed"), ("v1", 1, "P0301", "healed")))
    with pytest.raises(InputError, match="lacks column"):
        derive_episodes(SET_CLEAR_SET.drop_columns(["status"]))
    naive = SET_CLEAR_SET.set_column(1, "ts", SET_CLEAR_SET.column("ts").cast(pa.timestamp("us")))
    with pytest.raises(InputError, match="not a UTC timestamp"):
        derive_episodes(naive)
    with pytest.raises(InputError, match="without a telemetry table"):
        derive_episodes(SET_CLEAR_SET, freeze_frame_signals=[RPM])


def test_empty_events_give_an_empty_episode_table() -> None:
    empty = SET_CLEAR_SET.slice(0, 0)
    assert derive_episodes(empty).schema == EPISODE_SCHEMA
    assert derive_episodes(empty).num_rows == 0


def test_freeze_frame_is_the_latest_value_at_or_before_first_seen_within_tolerance() -> None:
    samples = telemetry(
        ("v1", -2, RPM, 700.0),
        ("v1", -1, RPM, 750.0),  # the one for episode 0 (first seen at 0)
        ("v1", 1, RPM, 3000.0),  # after first seen: not a freeze frame
        ("v1", 45, RPM, 2100.0),  # exactly at first seen of episode 1
        ("v1", 44, COOLANT, 88.0),
        ("v2", -30, RPM, 900.0),  # 35 minutes before v2's code: outside tolerance
        ("v3", 5, RPM, 1234.0),  # another vehicle at the same instant
    )
    result = derive_episodes(SET_CLEAR_SET, telemetry=samples, freeze_frame_signals=[RPM, COOLANT])
    assert result.column_names == [*EPISODE_SCHEMA.names, RPM, COOLANT]
    assert result.column(RPM).to_pylist() == [750.0, 2100.0, None]
    assert result.column(COOLANT).to_pylist() == [None, 88.0, None]
    wider = add_freeze_frames(
        derive_episodes(SET_CLEAR_SET), samples, [RPM], tolerance=timedelta(hours=1)
    )
    assert wider.column(RPM).to_pylist() == [750.0, 2100.0, 900.0]


def test_unknown_freeze_frame_signal_is_refused() -> None:
    with pytest.raises(NotFound, match=r"CombustionEngine\.Sped"):
        add_freeze_frames(
            derive_episodes(SET_CLEAR_SET),
            telemetry(("v1", 0, RPM, 800.0)),
            ["Vehicle.Powertrain.CombustionEngine.Sped"],
        )


# -- the simulator's injected faults --------------------------------------------------------

SIM = SimulationConfig(vehicles=40, days=8, seed=3, fault_rate=1.0, start=date(2026, 3, 2))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("episodes") / "lake")
    simulate_fleet(SIM, lake)
    return lake


def test_every_emitted_fault_code_has_an_episode_from_onset(fleet: Lake) -> None:
    episodes = pl.from_arrow(
        derive_episodes(
            fleet.read("dtc_events"),
            telemetry=fleet.read("telemetry"),
            freeze_frame_signals=[RPM, COOLANT],
        )
    )
    assert isinstance(episodes, pl.DataFrame)
    emitted = pl.from_arrow(fleet.read("dtc_events"))
    assert isinstance(emitted, pl.DataFrame)
    truth = pl.from_arrow(fleet.read("sim_faults"))
    assert isinstance(truth, pl.DataFrame)
    expected = (
        truth.explode("expected_dtcs")
        .rename({"expected_dtcs": "dtc"})
        .drop_nulls("dtc")
        .join(emitted.select("vehicle_id", "dtc").unique(), on=["vehicle_id", "dtc"])
    )
    assert expected.height >= 10  # the check below is not vacuous
    checked = expected.join(episodes, on=["vehicle_id", "dtc"], how="left")
    assert checked.get_column("first_seen").null_count() == 0
    assert (checked.get_column("first_seen") >= checked.get_column("onset_ts")).all()
    # with no clears in the simulator, each (vehicle, code) is one open episode
    assert episodes.get_column("recurrence").max() == 0
    assert episodes.get_column("active").all()
    # the freeze frame shows the fault: a cold engine when P0128 was set
    cold = checked.filter(pl.col("dtc") == "P0128").get_column(COOLANT)
    assert cold.len() > 0 and cold.null_count() == 0
    assert (cold < COLD_ENGINE_C).all()
    assert checked.filter(pl.col("fault") == "misfire").get_column(RPM).null_count() == 0


def test_repeated_reports_add_occurrences_not_episodes(fleet: Lake) -> None:
    events_table = fleet.read("dtc_events")
    many = pa.concat_tables([events_table] * 200)  # repeated reports of the same codes
    result = derive_episodes(many)
    assert result.num_rows == derive_episodes(events_table).num_rows
    assert result.column("occurrences").to_pylist() == [
        200 * n for n in derive_episodes(events_table).column("occurrences").to_pylist()
    ]

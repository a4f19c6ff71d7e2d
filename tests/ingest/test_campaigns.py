"""Campaigns: conditions, minimisation at the choke point, and their store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from drivetrain.catalog import load_signal_catalog
from drivetrain.errors import InputError, NotFound
from drivetrain.ingest import (
    Campaign,
    CampaignFilter,
    CollectionContext,
    VehicleTarget,
    compile_condition,
    create_campaign,
    list_campaigns,
    stop_campaign,
    write_telemetry,
)
from drivetrain.ingest.campaigns import NO_TRIGGER, NOT_REQUESTED, NOT_TARGETED, THINNED
from drivetrain.lake import Lake
from drivetrain.state import migrate, session_scope

from .._services import state_url

__all__ = ["state_url"]

T0 = int(datetime(2026, 10, 1, 8, tzinfo=UTC).timestamp()) * 1_000_000
SPEED = "Vehicle.Speed"
COOLANT = "Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature"
VEHICLES = {
    "ram1": VehicleTarget("Ram", "ram-1500", "US"),
    "tesla1": VehicleTarget("Tesla", "tesla-model-3", "DE"),
}


def series(vehicle: str, signal: str, values: list[float], start_s: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "vehicle_id": [vehicle] * len(values),
            "ts": [T0 + (start_s + i) * 1_000_000 for i in range(len(values))],
            "signal": [signal] * len(values),
            "value": values,
        }
    )


def batch(*parts: pl.DataFrame) -> pa.RecordBatch:
    df = pl.concat(parts).rechunk().with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    return df.to_arrow().to_batches()[0]


def seconds(kept: pa.RecordBatch, signal: str) -> list[int]:
    df = pl.from_arrow(kept)
    assert isinstance(df, pl.DataFrame)
    ts = df.filter(pl.col("signal") == signal)["ts"].dt.epoch("us")
    return [(t - T0) // 1_000_000 for t in ts.to_list()]


# -- conditions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "speed", "coolant", "expected"),
    [
        (f"{COOLANT} > 110", 50.0, 111.0, True),
        (f"{COOLANT} > 110", 50.0, 110.0, False),
        (f"{SPEED} > 100 and {COOLANT} >= 90", 120.0, 90.0, True),
        (f"{SPEED} > 100 or {COOLANT} >= 90", 20.0, 80.0, False),
        (f"not {SPEED} < 5", 5.0, 0.0, True),
        (f"0 < {SPEED} <= 30", 30.0, 0.0, True),
        (f"{COOLANT} - {SPEED} * 2 > -1", 10.0, 19.5, True),
    ],
)
def test_conditions_evaluate_like_python(
    text: str, speed: float, coolant: float, expected: bool
) -> None:
    condition = compile_condition(text, load_signal_catalog().keys())
    df = pl.DataFrame({SPEED: [speed], COOLANT: [coolant]})
    assert df.select(condition.expr).item() is expected
    python = text.replace(SPEED, str(speed)).replace(COOLANT, str(coolant))
    assert eval(python) is expected  # independent reference: Python's own semantics


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('true')", "do not support"),
        ("Vehicle.Warp.Drive > 9", "not in the signal catalog"),
        ("Vehicle.Speed >", "does not parse"),
        ("3 > 2", "does not compare any signal"),
        ("Vehicle.Speed[0] > 1", "do not support"),
    ],
)
def test_bad_conditions_are_refused(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        compile_condition(text, load_signal_catalog().keys())


# -- the filter ------------------------------------------------------------------------------


def test_targeting_signals_and_period() -> None:
    campaign = Campaign(
        "ram-speed", "vehicle_health", (SPEED,), target_brands=("Ram",), period_s=10
    )
    kept, dropped = CampaignFilter([campaign], VEHICLES).apply(
        batch(
            series("ram1", SPEED, [50.0] * 60),
            series("ram1", COOLANT, [90.0] * 60),
            series("tesla1", SPEED, [30.0] * 60),
        )
    )
    assert seconds(kept, SPEED) == [0, 10, 20, 30, 40, 50]
    assert dropped == {NOT_TARGETED: 60, NOT_REQUESTED: 60, THINNED: 54}


def test_condition_with_pre_and_post_trigger_windows() -> None:
    campaign = Campaign(
        "overheat",
        "vehicle_health",
        (SPEED, COOLANT),
        condition=f"{COOLANT} > 110",
        pre_trigger_s=5,
        post_trigger_s=5,
    )
    coolant = [90.0] * 30 + [112.0, 113.0, 111.0] + [100.0] * 27
    kept, dropped = CampaignFilter([campaign], VEHICLES).apply(
        batch(series("ram1", COOLANT, coolant), series("ram1", SPEED, [40.0] * 60))
    )
    window = list(range(25, 38))
    assert seconds(kept, COOLANT) == window
    assert seconds(kept, SPEED) == window
    assert dropped == {NO_TRIGGER: 120 - 2 * len(window)}


def test_state_carries_across_batches() -> None:
    triggered = Campaign(
        "hot", "vehicle_health", (SPEED, COOLANT), condition=f"{COOLANT} > 110", post_trigger_s=4
    )
    sampled = Campaign("slow", "vehicle_health", (SPEED,), period_s=20, target_brands=("Tesla",))
    flt = CampaignFilter([triggered, sampled], VEHICLES)
    first, _ = flt.apply(
        batch(series("ram1", COOLANT, [90.0] * 9 + [115.0]), series("tesla1", SPEED, [1.0] * 10))
    )
    second, _ = flt.apply(
        batch(
            series("ram1", COOLANT, [90.0] * 10, start_s=10),
            series("ram1", SPEED, [2.0] * 10, start_s=10),
            series("tesla1", SPEED, [1.0] * 30, start_s=10),
        )
    )
    assert seconds(first, COOLANT) == [9]
    assert seconds(second, SPEED) == [10, 11, 12, 13, 20]  # ram post window + tesla sampling
    assert seconds(second, COOLANT) == [10, 11, 12, 13]


def test_stopped_campaigns_collect_nothing() -> None:
    stopped = Campaign("old", "vehicle_health", (SPEED,), status="stopped")
    kept, dropped = CampaignFilter([stopped], VEHICLES).apply(
        batch(series("ram1", SPEED, [1.0] * 5))
    )
    assert kept.num_rows == 0 and dropped == {NOT_TARGETED: 5}


@pytest.mark.parametrize(
    ("campaign", "message"),
    [
        (Campaign("Bad Id", "vehicle_health", (SPEED,)), "not valid"),
        (Campaign("c", "spying", (SPEED,)), "unknown purpose"),
        (Campaign("c", "vehicle_health", ()), "no signal"),
        (Campaign("c", "vehicle_health", ("Vehicle.Nope",)), "matches no signal"),
        (Campaign("c", "vehicle_health", (SPEED,), pre_trigger_s=3), "need a --condition"),
        (Campaign("c", "vehicle_health", (SPEED,), period_s=0), "period"),
        (Campaign("c", "vehicle_health", (SPEED,), retention_days=0), "retention"),
    ],
)
def test_invalid_campaigns(campaign: Campaign, message: str) -> None:
    with pytest.raises(InputError, match=message):
        campaign.validate()


def test_prefix_patterns_expand_over_the_catalog() -> None:
    paths = Campaign("tyres", "vehicle_health", ("Vehicle.Chassis.Axle.*",)).requested_paths()
    assert "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure" in paths
    assert SPEED not in paths


# -- at the choke point ----------------------------------------------------------------------


def test_write_telemetry_stores_only_what_campaigns_ask_for(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    flt = CampaignFilter([Campaign("c", "vehicle_health", (SPEED,), period_s=30)], VEHICLES)
    data = batch(
        series("ram1", SPEED, [10.0] * 60),
        series("ram1", "Vehicle.Bogus", [1.0]),
        series("ram1", COOLANT, [80.0] * 3),
    )
    report = write_telemetry(lake, data, CollectionContext("test", "vehicle_health"), campaigns=flt)
    assert report.rows_written == 2 and report.rows_quarantined == 1
    assert report.dropped == {THINNED: 58, NOT_REQUESTED: 3}
    assert lake.read("telemetry").num_rows == 2


# -- the store -------------------------------------------------------------------------------


def test_create_list_stop(state_url: str) -> None:
    migrate(state_url)
    campaign = Campaign(
        "overheat",
        "vehicle_health",
        (COOLANT,),
        condition=f"{COOLANT} > 110",
        pre_trigger_s=30,
        post_trigger_s=60,
        target_markets=("US", "CA"),
        retention_days=90,
    )
    with session_scope(state_url) as session:
        stored = create_campaign(session, campaign)
    assert stored.target_markets == ("US", "CA") and stored.condition == campaign.condition
    with session_scope(state_url) as session, pytest.raises(InputError, match="already exists"):
        create_campaign(session, campaign)
    with session_scope(state_url) as session:
        stop_campaign(session, "overheat")
    with session_scope(state_url) as session:
        assert list_campaigns(session, active_only=True) == []
        (only,) = list_campaigns(session)
        assert only.status == "stopped" and only.stopped_at is not None
        with pytest.raises(NotFound):
            stop_campaign(session, "nope")


def test_an_older_batch_arriving_later_is_not_thinned_away() -> None:
    flt = CampaignFilter([Campaign("c", "vehicle_health", (SPEED,), period_s=10)], VEHICLES)
    late, _ = flt.apply(batch(series("ram1", SPEED, [1.0] * 20, start_s=100)))
    early, dropped = flt.apply(batch(series("ram1", SPEED, [2.0] * 20, start_s=0)))
    assert seconds(late, SPEED) == [100, 110]
    assert seconds(early, SPEED) == [0, 10]  # data of an older log still collected
    assert dropped == {THINNED: 18}


class RefuseCategoryFrom:
    """A LegalBasis refusing one data category from a time on (a consent withdrawal)."""

    def __init__(self, category: str, from_s: int) -> None:
        self.category, self.from_us = category, T0 + from_s * 1_000_000

    def allowed(self, vehicle_id, ts_us, category):  # type: ignore[no-untyped-def]
        refused = (category == self.category) & (ts_us >= self.from_us)
        return ~refused, np.where(refused, f"no legal basis for {self.category}", "")


LAT = "Vehicle.CurrentLocation.Latitude"


def test_each_campaign_needs_a_legal_basis_for_its_own_purpose() -> None:
    health = Campaign("health", "vehicle_health", (SPEED, LAT))
    charging = Campaign("charging", "location_services", (LAT,))
    flt = CampaignFilter(
        [health, charging],
        VEHICLES,
        legal_bases={
            "vehicle_health": RefuseCategoryFrom("location", 0),  # never for health
            "location_services": RefuseCategoryFrom("location", 5),  # withdrawn at t=5 s
        },
    )
    kept, dropped = flt.apply(
        batch(series("ram1", SPEED, [50.0] * 10), series("ram1", LAT, [48.1] * 10))
    )
    assert seconds(kept, SPEED) == list(range(10))
    assert seconds(kept, LAT) == [0, 1, 2, 3, 4]  # kept under location_services until withdrawn
    assert dropped == {"no legal basis for location": 5}


LON = "Vehicle.CurrentLocation.Longitude"


def test_positions_are_coarsened_unless_some_campaign_wants_them_exact() -> None:
    import pygeohash

    coarse = Campaign(
        "coarse", "location_services", ("Vehicle.CurrentLocation.*",), location_precision=5
    )
    lat, lon = 48.85661, 2.35222
    data = batch(series("ram1", LAT, [lat] * 3), series("ram1", LON, [lon] * 3))
    kept, _ = CampaignFilter([coarse], VEHICLES).apply(data)
    centre = pygeohash.decode_exactly(pygeohash.encode(lat, lon, precision=5))
    values = dict(zip(kept["signal"].to_pylist(), kept["value"].to_pylist(), strict=False))
    assert values[LAT] == pytest.approx(centre.latitude) and values[LON] == pytest.approx(
        centre.longitude
    )
    exact = Campaign("exact", "vehicle_health", (LAT, LON))
    kept, _ = CampaignFilter([coarse, exact], VEHICLES).apply(data)
    assert set(kept["value"].to_pylist()) == {lat, lon}
    with pytest.raises(InputError, match="precision"):
        Campaign("bad", "location_services", (LAT,), location_precision=13).validate()

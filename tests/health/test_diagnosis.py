"""Diagnosis: ranked causes with their evidence, on the simulated fleet and constructed cases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pyarrow as pa
import pytest

from drivetrain.fleet import list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.health.diagnosis import diagnose, knowledge_base, urgency
from drivetrain.health.episodes import derive_episodes
from drivetrain.health.scan import fleet_scan
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import session_scope

from .conftest import EVERYWHERE

EXPECTED_CAUSE = {
    "misfire": "ignition_misfire",
    "thermostat_stuck_open": "thermostat_stuck_open",
    "lv_battery_degradation": "weak_12v_battery",
    "slow_tyre_leak": "slow_puncture",
    "cell_imbalance": "traction_cell_imbalance",
    "brake_wear": "sticking_brake_caliper",
}
NO_ANOMALIES = pl.DataFrame(
    schema={
        "vehicle_id": pl.String, "indicator": pl.String, "basis": pl.String,
        "score": pl.Float64, "onset_day": pl.Date, "alarm_day": pl.Date,
        "baseline": pl.Float64, "latest": pl.Float64,
    }
)  # fmt: skip
NO_WEAR = pl.DataFrame(
    schema={
        "vehicle_id": pl.String, "item": pl.String, "status": pl.String,
        "days_left": pl.Float64, "days_left_low": pl.Float64, "days_left_high": pl.Float64,
    }
)  # fmt: skip


def test_the_top_cause_is_the_injected_fault_for_most_detected_vehicles(fleet: Settings) -> None:
    with session_scope(fleet.resolved_state_url) as session:
        vehicles = list_vehicles(session)
    report = fleet_scan(Lake(fleet.lake_dir), AccessContext(EVERYWHERE, "vehicle_health"), vehicles)
    lake = Lake(fleet.lake_dir)
    episodes = pl.from_arrow(derive_episodes(lake.read("dtc_events")))
    faults = pl.from_arrow(lake.read("sim_faults"))
    assert isinstance(episodes, pl.DataFrame) and isinstance(faults, pl.DataFrame)
    models = pl.DataFrame(
        {"vehicle_id": [v.vehicle_id for v in vehicles], "model_id": [v.model_id for v in vehicles]}
    )
    flagged = set(report.detection.anomalies["vehicle_id"].to_list())
    judged = right = 0
    for vehicle_id, fault in faults.select("vehicle_id", "fault").iter_rows():
        if vehicle_id not in flagged:
            continue
        causes = diagnose(
            vehicle_id,
            report.detection.anomalies,
            report.wear,
            episodes,
            fleet_anomalies=report.detection.anomalies,
            models=models,
        )
        judged += 1
        right += causes[0].cause_id == EXPECTED_CAUSE[fault]
        assert causes[0].evidence and all(line.startswith("+") for line in causes[0].evidence)
        shown = [float(line.split()[0]) for line in causes[0].evidence]  # "+2.5 anomaly on …"
        assert causes[0].score == pytest.approx(sum(shown), abs=0.05 * len(shown))
    assert judged >= 10 and right / judged >= 0.9, (right, judged)


def test_codes_without_a_failure_mode_become_their_own_candidates() -> None:
    events = pa.table(
        {
            "vehicle_id": ["v1"] * 4,
            "ts": pa.array(
                [datetime(2026, 3, d, 8, tzinfo=UTC) for d in (1, 2, 3, 4)],
                pa.timestamp("us", tz="UTC"),
            ),
            "dtc": ["P0420", "P0420", "P0301", "P0AA6"],
            "ecu": ["ECM", "ECM", "ECM", "BECM"],
            "status": ["confirmed"] * 4,
            "date": pa.array([date(2026, 3, d) for d in (1, 2, 3, 4)], pa.date32()),
        }
    )
    episodes = pl.from_arrow(derive_episodes(events))
    assert isinstance(episodes, pl.DataFrame)
    causes = {c.cause_id: c for c in diagnose("v1", NO_ANOMALIES, NO_WEAR, episodes)}
    assert {"dtc:P0420", "dtc:P0AA6", "ignition_misfire"} <= set(causes)
    assert causes["ignition_misfire"].codes == ["P0301"]
    assert "catalyst" in causes["dtc:P0420"].name.lower()
    # a hybrid isolation fault is the most urgent thing about this car
    ranked = diagnose("v1", NO_ANOMALIES, NO_WEAR, episodes)
    assert any(c.action == "stop_safely" for c in ranked if c.cause_id == "dtc:P0AA6")


def test_nothing_found_means_drive_on() -> None:
    assert urgency(diagnose("v9", NO_ANOMALIES, NO_WEAR, pl.DataFrame(
        schema={"vehicle_id": pl.String, "dtc": pl.String}
    ))) == "drive_on"  # fmt: skip


def test_the_knowledge_base_names_real_indicators_and_wear_items() -> None:
    from drivetrain.health.features import INDICATORS_BY_NAME
    from drivetrain.health.wear import WEAR_ITEMS

    items = {w.name for w in WEAR_ITEMS}
    for mode in knowledge_base():
        assert set(mode.indicators) <= set(INDICATORS_BY_NAME), mode.cause_id
        assert set(mode.wear) <= items, mode.cause_id


def _service(rows: list[tuple[str, datetime, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"vehicle_id": pl.String, "ts": pl.Datetime("us", "UTC"), "operation": pl.String},
        orient="row",
    )


def _battery_anomaly(onset: date) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "vehicle_id": ["v1"], "indicator": ["lv_min_v"], "basis": ["own"], "score": [3.0],
            "onset_day": [onset], "alarm_day": [onset], "baseline": [12.5], "latest": [12.0],
        }
    )  # fmt: skip


def test_a_repair_after_the_evidence_cuts_the_cause_and_one_before_raises_it() -> None:
    episodes = pl.DataFrame(schema={"vehicle_id": pl.String, "dtc": pl.String})
    anomaly = _battery_anomaly(date(2026, 3, 10))
    plain = diagnose("v1", anomaly, NO_WEAR, episodes)[0]
    fixed = diagnose(
        "v1", anomaly, NO_WEAR, episodes,
        service=_service([("v1", datetime(2026, 3, 12, tzinfo=UTC), "battery_replaced")]),
    )[0]  # fmt: skip
    again = diagnose(
        "v1", anomaly, NO_WEAR, episodes,
        service=_service([("v1", datetime(2026, 3, 1, tzinfo=UTC), "battery_charged")]),
    )[0]  # fmt: skip
    assert plain.cause_id == fixed.cause_id == again.cause_id == "weak_12v_battery"
    assert fixed.score == pytest.approx(0.3 * plain.score)
    assert "after all the evidence" in fixed.evidence[-1]
    assert again.score == pytest.approx(plain.score + 1.5)
    assert "came back after battery_charged" in again.evidence[-1]
    other = diagnose(
        "v1", anomaly, NO_WEAR, episodes,
        service=_service([("v2", datetime(2026, 3, 12, tzinfo=UTC), "battery_replaced")]),
    )[0]  # fmt: skip
    assert other.score == pytest.approx(plain.score)  # another car's repair changes nothing

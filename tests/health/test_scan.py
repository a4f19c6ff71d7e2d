"""The fleet scan end to end: governed day-by-day reads, ranking, provenance, evaluation."""

from __future__ import annotations

import polars as pl
import pytest

from drivetrain.errors import PolicyDenied
from drivetrain.fleet import list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import explain
from drivetrain.health.evaluate import evaluate_alarms, threshold_alarms
from drivetrain.health.scan import fleet_scan
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import session_scope

from .conftest import CONFIG, EVERYWHERE, PEUGEOT


def test_the_scan_ranks_the_faulty_vehicles_first_and_records_how(fleet: Settings) -> None:
    with session_scope(fleet.resolved_state_url) as session:
        vehicles = list_vehicles(session)
    audit = AuditLog(fleet.data_dir)
    already = len(audit.entries())
    seen: list[tuple[int, int]] = []
    report = fleet_scan(
        Lake(fleet.lake_dir),
        AccessContext(EVERYWHERE, "vehicle_health"),
        vehicles,
        audit=audit,
        on_progress=lambda done, total: seen.append((done, total)),
    )
    days = len(Lake(fleet.lake_dir).partitions("telemetry"))  # UTC dates of 16 local days
    assert CONFIG.days <= report.days == days and seen[-1] == (days, days)
    faults = pl.from_arrow(Lake(fleet.lake_dir).read("sim_faults"))
    assert isinstance(faults, pl.DataFrame)
    faulty = set(faults["vehicle_id"].to_list())
    ranked = report.ranking["vehicle_id"].to_list()
    assert len(ranked) >= 10
    top = ranked[:10]
    assert sum(v in faulty for v in top) >= 9, report.ranking.head(10)
    health = report.ranking["health"]
    assert health.is_between(0, 100).all() and health.head(10).max() < 90
    assert set(report.wear["status"].unique().to_list()) <= {
        "trend", "no_trend", "insufficient_data", "at_limit"
    }  # fmt: skip
    assert report.wear.filter(pl.col("item") == "brake_pads_front").height > 0
    # region scope: no vehicle outside eu and us was read, let alone ranked
    outside = {v.vehicle_id for v in vehicles if v.region not in ("eu", "us")}
    assert not outside & set(report.features["vehicle_id"].to_list())
    reads = [e for e in audit.entries()[already:] if e.kind == "access"]
    assert len(reads) == days  # one governed read per day
    assert report.output_id is not None
    explained = explain(audit, report.output_id)
    assert explained.output_kind == "health_scan" and explained.principal == "hana"
    assert explained.inputs["telemetry"] == Lake(fleet.lake_dir).version("telemetry")


def test_a_brand_scoped_scan_sees_only_its_brand(fleet: Settings) -> None:
    with session_scope(fleet.resolved_state_url) as session:
        vehicles = list_vehicles(session)
    report = fleet_scan(Lake(fleet.lake_dir), AccessContext(PEUGEOT, "vehicle_health"), vehicles)
    peugeots = {v.vehicle_id for v in vehicles if v.brand == "Peugeot" and v.region == "eu"}
    assert set(report.features["vehicle_id"].to_list()) <= peugeots
    assert report.vehicles > 0
    with pytest.raises(PolicyDenied, match="marketing"):
        fleet_scan(Lake(fleet.lake_dir), AccessContext(PEUGEOT, "marketing"), vehicles)


def test_the_detector_beats_or_matches_the_thresholds_at_no_more_false_alarms(
    fleet: Settings,
) -> None:
    with session_scope(fleet.resolved_state_url) as session:
        vehicles = list_vehicles(session)
    report = fleet_scan(Lake(fleet.lake_dir), AccessContext(EVERYWHERE, "vehicle_health"), vehicles)
    lake = Lake(fleet.lake_dir)
    faults = pl.from_arrow(lake.read("sim_faults"))
    dtcs = pl.from_arrow(lake.read("dtc_events"))
    assert isinstance(faults, pl.DataFrame) and isinstance(dtcs, pl.DataFrame)
    scanned = report.features["vehicle_id"].unique().implode()
    faults = faults.filter(pl.col("vehicle_id").is_in(scanned))
    metrics = evaluate_alarms(
        {"cusum": report.detection.anomalies, "threshold": threshold_alarms(report.features)},
        report.features,
        faults,
        dtcs,
    )
    wide = metrics.pivot(on="method", index="fault", values=["recall", "false_alarms"])
    assert wide.height == 7  # six fault types and the indicators no fault shows in
    for row in wide.iter_rows(named=True):
        if row["recall_threshold"] is None:  # the other indicators: false alarms only
            assert row["false_alarms_cusum"] <= row["false_alarms_threshold"] + 1, row
            continue
        assert row["recall_cusum"] >= row["recall_threshold"] - 1e-9, row
        assert row["false_alarms_cusum"] <= row["false_alarms_threshold"] + 1, row
    detector = metrics.filter(pl.col("method") == "cusum")
    assert (detector["recall"].drop_nulls() > 0).all()  # every fault type is found at times


def test_splitting_a_day_by_vehicle_changes_nothing(fleet: Settings) -> None:
    from drivetrain.health import scan as scan_module
    from drivetrain.health.features import daily_indicators

    lake = Lake(fleet.lake_dir)
    day = lake.partitions("telemetry")[3]
    import pyarrow as pa
    import pyarrow.compute as pc

    table = lake.read("telemetry", filter=pc.field("date") == pa.scalar(day, pa.date32()))
    whole = daily_indicators(table).sort("vehicle_id", "indicator", "day")
    chunks = scan_module._vehicle_chunks(table, rows=table.num_rows // 5)
    assert len(chunks) >= 4 and sum(c.num_rows for c in chunks) == table.num_rows
    pieces = pl.concat([daily_indicators(c) for c in chunks]).sort("vehicle_id", "indicator", "day")
    assert pieces.equals(whole)

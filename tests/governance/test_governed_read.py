"""Governed lake reads: row-level security, whole-read denials and the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from drivetrain.errors import InputError, PolicyDenied
from drivetrain.fleet import VehicleRecord
from drivetrain.governance.access import AccessContext
from drivetrain.governance.governed_read import (
    DENIED_KIND,
    READ_KIND,
    governed_query,
    governed_read,
    referenced_tables,
)
from drivetrain.governance.principals import Principal
from drivetrain.lake import Lake

T0 = datetime(2026, 10, 1, 12, tzinfo=UTC)


def vehicle(vehicle_id: str, brand: str, region: str) -> VehicleRecord:
    return VehicleRecord(
        vehicle_id=vehicle_id,
        vin="ZFA00000000000000",
        brand=brand,
        model_id="m",
        model_name="M",
        model_year=2024,
        platform="p",
        market=region.upper(),
        region=region,
        powertrain="bev",
    )


FLEET = [
    vehicle("fiat_eu", "Fiat", "eu"),
    vehicle("peugeot_eu", "Peugeot", "eu"),
    vehicle("fiat_cn", "Fiat", "cn"),
]
FIAT_ANALYST = Principal.of(
    "alice", roles=["fleet_analyst"], brands=["Fiat"], regions=["*"], country="DE"
)
PEUGEOT_ANALYST = Principal.of(
    "paul", roles=["fleet_analyst"], brands=["Peugeot"], regions=["eu"], country="FR"
)
CN_ANALYST = Principal.of(
    "li", roles=["fleet_analyst"], brands=["Fiat"], regions=["cn"], country="CN"
)
DPO = Principal.of(
    "dora", roles=["data_protection_officer"], brands=["*"], regions=["*"], country="FR"
)


@dataclass
class FakeAudit:
    """Implements our AuditSink protocol; keeps what it is given."""

    records: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)

    def append(self, kind: str, *, principal: str, purpose: str, details: Mapping[str, Any]) -> int:
        self.records.append((kind, principal, purpose, dict(details)))
        return len(self.records)

    def kinds(self) -> list[str]:
        return [r[0] for r in self.records]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("governed") / "lake")
    ids = [v.vehicle_id for v in FLEET] + ["unregistered"]
    lake.append(
        "telemetry",
        pa.table(
            {
                "vehicle_id": ids,
                "ts": pa.array([T0] * len(ids), pa.timestamp("us", tz="UTC")),
                "signal": ["Vehicle.Speed"] * len(ids),
                "value": [1.0, 2.0, 3.0, 4.0],
            }
        ),
    )
    lake.append(
        "dtc_events",
        pa.table(
            {
                "vehicle_id": ["fiat_eu", "peugeot_eu"],
                "ts": pa.array([T0, T0], pa.timestamp("us", tz="UTC")),
                "dtc": ["P0420", "P0171"],
                "ecu": ["ECM", "ECM"],
                "status": ["confirmed", "pending"],
            }
        ),
    )
    return lake


def ids(table: pa.Table) -> set[str]:
    return set(table.column("vehicle_id").to_pylist())


def test_other_brand_is_invisible(lake: Lake) -> None:
    ctx = AccessContext(PEUGEOT_ANALYST, "vehicle_health")
    assert ids(governed_read(lake, "telemetry", ctx, FLEET)) == {"peugeot_eu"}
    result = governed_query(lake, "SELECT vehicle_id, value FROM telemetry", ctx, FLEET)
    assert ids(result) == {"peugeot_eu"}


def test_cn_data_stays_with_cn_principals(lake: Lake) -> None:
    # Fiat analyst outside China: EU Fiat rows only, the CN vehicle is withheld
    outside = AccessContext(FIAT_ANALYST, "vehicle_health")
    assert ids(governed_read(lake, "telemetry", outside, FLEET)) == {"fiat_eu"}
    # a DPO outside China sees everything registered except the CN vehicle
    dpo = AccessContext(DPO, "legal_obligation")
    assert ids(governed_read(lake, "telemetry", dpo, FLEET)) == {"fiat_eu", "peugeot_eu"}
    # a principal in China reads it
    inside = AccessContext(CN_ANALYST, "vehicle_health")
    assert ids(governed_read(lake, "telemetry", inside, FLEET)) == {"fiat_cn"}
    # and only the CN vehicle in scope: a read of CN data alone is refused outside China
    with pytest.raises(PolicyDenied, match="pipl_residency"):
        governed_read(lake, "telemetry", dpo, [FLEET[2]])


def test_aggregates_and_joins_see_only_permitted_rows(lake: Lake) -> None:
    ctx = AccessContext(FIAT_ANALYST, "vehicle_health")
    total = governed_query(lake, "SELECT sum(value) AS s, count(*) AS n FROM telemetry", ctx, FLEET)
    assert total.to_pylist() == [{"s": 1.0, "n": 1}]
    joined = governed_query(
        lake,
        "WITH t AS (SELECT * FROM Telemetry) "
        "SELECT t.vehicle_id, d.dtc FROM t JOIN dtc_events d ON t.vehicle_id = d.vehicle_id",
        ctx,
        FLEET,
    )
    assert joined.to_pylist() == [{"vehicle_id": "fiat_eu", "dtc": "P0420"}]


def test_projection_without_vehicle_column(lake: Lake) -> None:
    ctx = AccessContext(FIAT_ANALYST, "vehicle_health")
    assert governed_read(lake, "telemetry", ctx, FLEET, columns=["value"]).to_pylist() == [
        {"value": 1.0}
    ]


def test_purpose_matters(lake: Lake) -> None:
    with pytest.raises(PolicyDenied, match=r"no rule grants.*purpose marketing"):
        governed_query(
            lake, "SELECT * FROM telemetry", AccessContext(FIAT_ANALYST, "marketing"), FLEET
        )


def test_any_denied_table_refuses_the_query(lake: Lake) -> None:
    ctx = AccessContext(FIAT_ANALYST, "vehicle_health")
    with pytest.raises(PolicyDenied, match="sim_faults"):
        governed_query(lake, "SELECT count(*) FROM telemetry, sim_faults", ctx, FLEET)


def test_unparseable_sql() -> None:
    with pytest.raises(InputError, match="syntax error"):
        referenced_tables("SELEC * FROM telemetry")
    assert referenced_tables("EXPLAIN SELECT * FROM main.trips") == ["trips"]


def test_audit_records_reads_and_denials(lake: Lake) -> None:
    audit = FakeAudit()
    ctx = AccessContext(FIAT_ANALYST, "vehicle_health")
    governed_query(lake, "SELECT * FROM telemetry", ctx, FLEET, audit=audit)
    # the partial read: the withheld vehicles are a denial, then the read itself
    assert audit.kinds() == [DENIED_KIND, READ_KIND]
    _, principal, purpose, details = audit.records[-1]
    assert (principal, purpose) == ("alice", "vehicle_health")
    assert details["rows"] == 1
    assert details["tables"]["telemetry"]["permitted_vehicles"] == 1
    assert details["tables"]["telemetry"]["withheld_vehicles"] == 2
    assert details["tables"]["telemetry"]["denied_by"] == ["no_grant", "pipl_residency"]
    assert details["tables"]["telemetry"]["granted_by"] == ["fleet_analyst_health"]

    audit.records.clear()
    with pytest.raises(PolicyDenied):
        governed_read(
            lake, "telemetry", AccessContext(FIAT_ANALYST, "marketing"), FLEET, audit=audit
        )
    assert audit.kinds() == [DENIED_KIND]
    _, _, purpose, details = audit.records[0]
    assert purpose == "marketing"
    assert details["scope"] == "all"
    assert "no rule grants" in details["reason"]

    audit.records.clear()
    with pytest.raises(PolicyDenied):
        governed_read(
            lake, "telemetry", AccessContext(DPO, "legal_obligation"), [FLEET[2]], audit=audit
        )
    assert audit.records[0][3]["rule"] == "pipl_residency"


def test_rows_without_vehicle_follow_table_permission(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    lake = Lake(tmp_path_factory.mktemp("quarantine") / "lake")
    lake.append(
        "quarantine",
        pa.table(
            {
                "run_id": ["r1", "r1", "r1"],
                "ts": pa.array([T0] * 3, pa.timestamp("us", tz="UTC")),
                "target_table": ["telemetry"] * 3,
                "source": ["log.asc"] * 3,
                "location": ["line 1", "line 2", "line 3"],
                "reason": ["bad"] * 3,
                "record": ["..."] * 3,
                "vehicle_id": ["fiat_eu", "peugeot_eu", None],
            }
        ),
    )
    engineer = Principal.of(
        "erin", roles=["data_engineer"], brands=["Fiat"], regions=["eu"], country="IT"
    )
    ctx = AccessContext(engineer, "product_improvement")
    rows = governed_read(lake, "quarantine", ctx, FLEET, columns=["location", "vehicle_id"])
    assert rows.to_pylist() == [
        {"location": "line 1", "vehicle_id": "fiat_eu"},
        {"location": "line 3", "vehicle_id": None},
    ]
    with pytest.raises(PolicyDenied, match="no rule grants"):
        governed_read(lake, "quarantine", AccessContext(FIAT_ANALYST, "vehicle_health"), FLEET)

"""What the demo shows of governance: scoped reads, a refused read, provenance, the audit log."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.errors import PolicyDenied
from drivetrain.fleet import list_vehicles
from drivetrain.governance import (
    AccessContext,
    AuditLog,
    Explanation,
    VerifyReport,
    explain,
    governed_query,
    load_principals,
    record_output,
)
from drivetrain.governance.keys import Keyring, keys_of_subject
from drivetrain.governance.sealing import SEALED_TABLE, state_opener
from drivetrain.governance.subject_rights import (
    ErasureReport,
    compact_state,
    erase_subject,
    subject_data,
)
from drivetrain.governance.subjects import list_subjects
from drivetrain.lake import Lake, query
from drivetrain.settings import Settings
from drivetrain.state import session_scope

DEMO_PRINCIPALS = """\
# Who may read what is decided by roles, brands, regions and country (docs/access.md).
[[principal]]
id = "analyst-peugeot"
roles = ["fleet_analyst"]
brands = ["Peugeot"]
regions = ["eu"]
country = "FR"

[[principal]]
id = "fleet-health"
roles = ["fleet_analyst"]
brands = ["*"]
regions = ["eu", "us", "kr", "ca"]
country = "DE"

[[principal]]
id = "charging-service"
kind = "service"
roles = ["location_service"]
brands = ["*"]
regions = ["eu", "us", "kr", "ca"]
country = "DE"

[[principal]]
id = "cockpit-service"
kind = "service"
roles = ["assistant_service"]
brands = ["*"]
regions = ["eu", "us", "kr", "ca"]
country = "DE"

[[principal]]
id = "cockpit-engineer"
roles = ["assistant_service"]
brands = ["*"]
regions = ["eu", "us", "kr", "ca"]
country = "DE"

[[principal]]
id = "ota-service"
kind = "service"
roles = ["ota_service"]
brands = ["*"]
regions = ["eu", "us", "kr", "ca"]
country = "DE"

[[principal]]
id = "engineer"
roles = ["product_engineer"]
brands = ["*"]
regions = ["eu"]
country = "DE"

[[principal]]
id = "warranty"
roles = ["warranty_engineer"]
brands = ["*"]
regions = ["eu", "us", "kr", "ca", "cn"]
country = "DE"

[[principal]]
id = "parts"
roles = ["parts_planner"]
brands = ["*"]
regions = ["eu", "us", "kr", "ca", "cn"]
country = "DE"

[[principal]]
id = "quality"
roles = ["quality_engineer"]
brands = ["*"]
regions = ["eu", "us", "kr", "ca", "cn"]
country = "TR"

[[principal]]
id = "dpo-eu"
roles = ["data_protection_officer"]
brands = ["*"]
regions = ["*"]
country = "DE"
"""
LATITUDE = "Vehicle.CurrentLocation.Latitude"
SAMPLE_QUERY = (
    "SELECT signal, count(*) AS n, round(avg(value), 2) AS mean "
    "FROM telemetry GROUP BY signal ORDER BY n DESC LIMIT 8"
)


@dataclass(frozen=True, slots=True)
class GovernanceTour:
    """The results the demo prints."""

    analyst_vehicles: int
    analyst_brands: list[str]
    fleet_vehicles: int
    refused: str
    sample: pa.Table
    explanation: Explanation
    erasure: ErasureReport | None
    audit: VerifyReport
    positions_opened: int = 0  # positions the charging service reads, opened from their seal
    positions_seen_by_analyst: int = 0
    positions_shredded: int = 0  # sealed positions of the erased subject, unreadable after


def governance_tour(settings: Settings) -> GovernanceTour:
    """Read as a brand-scoped analyst, be refused a read, explain an output, erase a subject."""
    principals_file = settings.resolved_principals_file
    if not principals_file.exists():
        principals_file.write_text(DEMO_PRINCIPALS, encoding="utf-8")
    principals = load_principals(principals_file)
    lake = Lake(settings.lake_dir)
    audit = AuditLog(settings.data_dir)
    with session_scope(settings.resolved_state_url) as session:
        vehicles = list_vehicles(session)
    brand_of = {v.vehicle_id: v.brand for v in vehicles}

    analyst = AccessContext(principals["analyst-peugeot"], "vehicle_health")
    seen = governed_query(
        lake, "SELECT DISTINCT vehicle_id FROM telemetry", analyst, vehicles, audit=audit
    )
    seen_ids = seen["vehicle_id"].to_pylist()

    # A data-protection officer in Germany may not read a China-resident vehicle (PIPL);
    # a fleet without one shows the analyst asking for a purpose nobody granted instead.
    cn_vehicle = next((v for v in vehicles if v.region == "cn"), None)
    if cn_vehicle is not None:
        attempt = AccessContext(principals["dpo-eu"], "legal_obligation")
        scope = [cn_vehicle]
    else:
        attempt = AccessContext(principals["analyst-peugeot"], "marketing")
        scope = vehicles
    refused = "nothing was refused"
    try:
        governed_query(lake, "SELECT count(*) AS n FROM telemetry", attempt, scope, audit=audit)
    except PolicyDenied as exc:
        refused = exc.message

    sample = query(lake, SAMPLE_QUERY)
    output_id = record_output(
        audit,
        kind="fleet_signal_summary",
        model="duckdb",
        version=duckdb.__version__,
        params={"sql": SAMPLE_QUERY},
        inputs=lake.versions(),
        sources=[f"telemetry rows: {int(pc.sum(sample['n']).as_py() or 0)}"],
        principal="demo",
        purpose="product_improvement",
    )
    url = settings.resolved_state_url
    opener = state_opener(url, Keyring.load_or_create(settings.data_dir))
    positions = f"SELECT count(*) AS n FROM telemetry WHERE signal = '{LATITUDE}'"
    opened_n = 0
    if "charging-service" in principals:  # a principals file of the user's may not have it
        charging = AccessContext(principals["charging-service"], "location_services")
        opened = governed_query(lake, positions, charging, vehicles, audit=audit, opener=opener)
        opened_n = int(opened["n"][0].as_py())
    analysts = governed_query(lake, positions, analyst, vehicles, audit=audit, opener=opener)

    erasure, shredded = _erase_one(lake, url, audit)
    return GovernanceTour(
        analyst_vehicles=len(seen_ids),
        analyst_brands=sorted({brand_of[v] for v in seen_ids}),
        fleet_vehicles=len(vehicles),
        refused=refused,
        sample=sample,
        explanation=explain(audit, output_id),
        erasure=erasure,
        audit=audit.verify(),
        positions_opened=opened_n,
        positions_seen_by_analyst=int(analysts["n"][0].as_py()),
        positions_shredded=shredded,
    )


def _erase_one(lake: Lake, url: str, audit: AuditLog) -> tuple[ErasureReport | None, int]:
    """Erase the first subject with sealed positions in the lake (else the first subject)."""
    sealed_keys = set(lake.read(SEALED_TABLE, columns=["key_id"])["key_id"].unique().to_pylist())
    with session_scope(url) as session:
        subjects = [s.subject_id for s in list_subjects(session)]
        chosen = next((s for s in subjects if sealed_keys & set(keys_of_subject(session, s))), None)
        chosen = chosen or (subjects[0] if subjects else None)
        if chosen is None:
            return None, 0
        sealed = subject_data(session, lake, chosen).rows.get(SEALED_TABLE, 0)
        erasure = erase_subject(session, lake, chosen, audit=audit)
        compact_state(session)
    return erasure, sealed

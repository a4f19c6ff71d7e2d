"""Run a simulation end to end: lake tables and the fleet registry, all or nothing."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from drivetrain.demo.consent_story import CHARGING_CAMPAIGN, ConsentStory, register_owners
from drivetrain.demo.publisher import PublishReport, publish_fleet
from drivetrain.demo.raw_pipeline import RawRoute, RawStats
from drivetrain.demo.simulator import (
    Progress,
    Route,
    SimulationConfig,
    SimulationReport,
    plan_fleet,
    roll_back,
    simulate_fleet,
)
from drivetrain.errors import InputError
from drivetrain.fleet import register_vehicles
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.changes import record_admin_change, record_consent_events
from drivetrain.governance.consent import histories
from drivetrain.governance.keys import Keyring
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.governance.sealing import Sealer
from drivetrain.governance.subjects import list_subjects
from drivetrain.ingest import Campaign, create_campaign, get_campaign, list_campaigns
from drivetrain.ingest.campaigns import targets_of
from drivetrain.ingest.gate import collection_gate
from drivetrain.lake import TABLES, Lake
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope

DEMO_MARKER = ".drivetrain-demo"

# The demo's collection campaign: everything vehicle health needs, every 10 s.
# Location is not needed for that purpose, so it is not collected (minimisation).
DEMO_CAMPAIGN = Campaign(
    campaign_id="fleet-health",
    purpose="vehicle_health",
    signals=(
        "Vehicle.Speed",
        "Vehicle.TraveledDistance",
        "Vehicle.Acceleration.*",
        "Vehicle.Chassis.*",
        "Vehicle.Powertrain.*",
        "Vehicle.LowVoltageBattery.*",
        "Vehicle.Exterior.*",
        "Vehicle.OBD.*",
    ),
    period_s=10,
    retention_days=365,
    description="Fleet health monitoring; location is not needed and not collected.",
)


def run_simulation(
    settings: Settings,
    config: SimulationConfig,
    *,
    campaign_ids: Sequence[str] | None = None,
    on_progress: Progress | None = None,
    route: Route | None = None,
) -> SimulationReport:
    """Simulate ``config`` into the settings' lake and register the vehicles.

    Telemetry is filtered by the named campaigns, or by every active campaign
    when none is named; with no campaign at all the simulator, a test source,
    stores everything. If registering the vehicles fails (for example the same
    seed was already simulated into this data directory), the lake tables are
    rolled back.
    """
    data_dir = settings.ensure_data_dir()
    url = settings.resolved_state_url
    migrate(url)
    lake = Lake(settings.lake_dir)
    before = {name: lake.version(name) for name in TABLES}
    pseudonyms = PseudonymKey.load_or_create(data_dir)
    keyring = Keyring.load_or_create(data_dir)
    fleet, _, start = plan_fleet(config, pseudonyms)
    targets = targets_of(fleet.records)
    # One transaction: the vehicles, the data keys the gate creates, and (once the lake
    # writes succeed) the commit; a failure on either side undoes both.
    with session_scope(url) as session:
        if campaign_ids:
            campaigns = [get_campaign(session, c) for c in campaign_ids]
        else:
            campaigns = list_campaigns(session, active_only=True)
        try:
            register_vehicles(session, fleet.records)
            session.flush()
        except InputError as exc:
            raise InputError(
                f"the simulated vehicles could not be registered, nothing was written: {exc.message}",
                hint="simulating the same --seed into the same data directory twice makes the "
                "same VINs; pass another --seed or --data-dir",
            ) from exc
        window = (start - timedelta(days=1), start + timedelta(days=config.days + 1))
        gate = sealer = None
        if campaigns:
            gate = collection_gate(session, keyring, campaigns, targets, *window)
        else:
            sealer = Sealer.build(session, keyring, targets)
        try:
            report = simulate_fleet(
                config,
                lake,
                on_progress=on_progress,
                route=route,
                pseudonyms=pseudonyms,
                audit=AuditLog(data_dir),
                gate=gate,
                sealer=sealer,
            )
            session.commit()
        except BaseException:
            session.rollback()
            roll_back(lake, before)
            raise
    return report


def prepare_demo_dir(path: Path) -> Path:
    """Make ``path`` a fresh, empty demo data directory.

    A directory drivetrain created for an earlier demo (it holds the marker
    file) is replaced; any other non-empty directory is refused.
    """
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{path} exists and is not a directory")
        if any(path.iterdir()):
            if not (path / DEMO_MARKER).exists():
                raise InputError(
                    f"{path} is not empty and was not created by 'drivetrain demo'",
                    hint="pass --data-dir with a new or empty directory",
                )
            shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / DEMO_MARKER).write_text("created by 'drivetrain demo'; safe to delete\n")
    return path


def run_demo(
    data_dir: Path,
    config: SimulationConfig,
    settings: Settings,
    *,
    on_progress: Progress | None = None,
) -> tuple[Settings, SimulationReport, RawStats, ConsentStory]:
    """The whole demo run in a fresh ``data_dir``.

    Registers the fleet with one owner per vehicle and their consents (one owner
    withdraws location consent half way), starts the demo campaigns, and
    simulates through raw data: each vehicle's CAN and OBD-II logs (kept under
    ``data_dir/raw``) are decoded back by the ingestion path, and every row must
    be asked for by a campaign *and* have a legal basis for its purpose.
    """
    prepare_demo_dir(data_dir)
    models = settings.models_dir or data_dir / "models"
    demo_settings = settings.model_copy(
        update={"data_dir": data_dir, "state_url": None, "models_dir": models}
    )
    url = demo_settings.resolved_state_url
    migrate(url)
    pseudonyms = PseudonymKey.load_or_create(data_dir)
    fleet, _, start = plan_fleet(config, pseudonyms)
    campaigns = [DEMO_CAMPAIGN, CHARGING_CAMPAIGN]
    with session_scope(url) as session:
        for campaign in campaigns:
            create_campaign(session, campaign)
        register_vehicles(session, fleet.records)
        story = register_owners(session, fleet.records, start, config.days)
        session.flush()
        window = (start - timedelta(days=1), start + timedelta(days=config.days + 1))
        targets = targets_of(fleet.records)
        gate = collection_gate(
            session, Keyring.load_or_create(data_dir), campaigns, targets, *window
        )
    audit = AuditLog(data_dir)
    with session_scope(url) as session:  # committed: now the changes are audited
        owners = [s.subject_id for s in list_subjects(session)]
        events = [r for history in histories(session, owners).values() for r in history]
    record_consent_events(audit, events, principal="demo")
    for campaign in campaigns:
        record_admin_change(
            audit, "campaign_create", {"campaign": campaign.campaign_id}, principal="demo"
        )
    route = RawRoute(data_dir / "raw")
    report = simulate_fleet(
        config,
        Lake(demo_settings.lake_dir),
        campaigns=campaigns,
        on_progress=on_progress,
        route=route,
        pseudonyms=pseudonyms,
        audit=audit,
        gate=gate,
    )
    return demo_settings, report, route.stats, story


def publish_simulation(
    settings: Settings,
    config: SimulationConfig,
    *,
    window_s: float = 60.0,
    qos: int = 1,
    on_progress: Progress | None = None,
) -> PublishReport:
    """Register the simulated fleet, then publish its telemetry to the MQTT broker.

    The vehicles publish VSS JSON to ``vehicles/{vehicle_id}/vss``, as
    ``drivetrain gateway run`` expects; nothing is written to the lake here.
    """
    settings.ensure_data_dir()
    url = settings.resolved_state_url
    migrate(url)
    pseudonyms = PseudonymKey.load_or_create(settings.data_dir)
    fleet, _, _ = plan_fleet(config, pseudonyms)
    with session_scope(url) as session:
        register_vehicles(session, fleet.records)
    return publish_fleet(
        config,
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        window_s=window_s,
        qos=qos,
        on_progress=on_progress,
        pseudonyms=pseudonyms,
    )

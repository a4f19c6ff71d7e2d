"""Getting vehicle data in: the collection choke point every source writes through."""

from drivetrain.ingest.campaign_store import (
    create_campaign,
    get_campaign,
    list_campaigns,
    stop_campaign,
)
from drivetrain.ingest.campaigns import Campaign, CampaignFilter, LegalBasis, VehicleTarget
from drivetrain.ingest.conditions import Condition, compile_condition
from drivetrain.ingest.sink import (
    CollectionContext,
    WriteReport,
    new_run_id,
    write_records,
    write_telemetry,
)

__all__ = [
    "Campaign",
    "CampaignFilter",
    "CollectionContext",
    "Condition",
    "LegalBasis",
    "VehicleTarget",
    "WriteReport",
    "compile_condition",
    "create_campaign",
    "get_campaign",
    "list_campaigns",
    "new_run_id",
    "stop_campaign",
    "write_records",
    "write_telemetry",
]

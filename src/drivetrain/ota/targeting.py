"""Which vehicles a campaign updates, and why the others are left out.

:func:`select_targets` reads the fleet registry and keeps the vehicles whose
brand, model and market match and whose ECU runs a targeted version on a
targeted hardware revision. Of those it *excludes*, each with its reason:

* a vehicle whose ECU reports a version the image repository never signed for
  that hardware (``impossible-version``: the registry or the vehicle is wrong,
  and installing over unknown software is not safe);
* a vehicle that already runs the release (``already-installed``);
* a vehicle whose other ECUs break the release's ``requires`` (``requires``) or
  match its ``conflicts`` (``conflicts``).

:func:`check_campaign_scope` refuses a campaign that targets nothing, or whose
vehicles and ECU overlap another running or paused campaign.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from drivetrain.fleet import EcuSoftware, VehicleRecord, list_vehicles
from drivetrain.ota.campaigns import Campaign, releases_for_hardware
from drivetrain.ota.repository import ImageRepository
from drivetrain.ota.rollout_errors import CampaignRefused
from drivetrain.ota.versions import VersionRange
from drivetrain.state.ota_models import OtaCampaignRow, OtaReleaseRow, OtaRolloutVehicleRow

ACTIVE_STATUSES = ("running", "paused")


@dataclass(frozen=True, slots=True)
class Target:
    """A vehicle the campaign will update, with the software it runs now."""

    vehicle_id: str
    ecu: str
    hardware_id: str
    current_version: str
    other_versions: dict[str, str]  # the vehicle's other ECUs -> their current version


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A vehicle that matched the targeting but will not be updated, and why."""

    vehicle_id: str
    code: str  # impossible-version | already-installed | requires | conflicts
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"vehicle_id": self.vehicle_id, "code": self.code, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class TargetSelection:
    targets: tuple[Target, ...]
    exclusions: tuple[Exclusion, ...]


def current_software(vehicle: VehicleRecord) -> dict[str, EcuSoftware]:
    """What each ECU of ``vehicle`` runs now: its latest installed software, by ECU name."""
    latest: dict[str, EcuSoftware] = {}
    for item in vehicle.software:
        known = latest.get(item.ecu)
        if known is None or item.installed_at >= known.installed_at:
            latest[item.ecu] = item
    return latest


def known_versions(session: Session, image_repo: ImageRepository, hardware_id: str) -> set[str]:
    """Every version ever signed for ``hardware_id``: all targets versions, and the releases.

    The image repository keeps each targets version (``N.targets.json``) for
    consistent snapshots, so a withdrawn image still counts as having existed.
    """
    versions = {r.version for r in releases_for_hardware(session, hardware_id)}
    for path in sorted(image_repo.metadata_dir.glob("*.targets.json")):
        signed: dict[str, Any] = json.loads(path.read_bytes()).get("signed", {})
        for target in dict(signed.get("targets", {})).values():
            custom = dict(target.get("custom", {}))
            if custom.get("hardware_id") == hardware_id and "version" in custom:
                versions.add(str(custom["version"]))
    return versions


def _candidates(session: Session, campaign: Campaign) -> list[VehicleRecord]:
    aim = campaign.targeting
    brand = aim.brands[0] if len(aim.brands) == 1 else None
    market = aim.markets[0] if len(aim.markets) == 1 else None
    model = aim.models[0] if len(aim.models) == 1 else None
    vehicles = list_vehicles(session, brand=brand, market=market, model_id=model)
    return [
        v
        for v in vehicles
        if (not aim.brands or v.brand in aim.brands)
        and (not aim.models or v.model_id in aim.models)
        and (not aim.markets or v.market in aim.markets)
    ]


def select_targets(
    session: Session, campaign: Campaign, image_repo: ImageRepository
) -> TargetSelection:
    """The vehicles ``campaign`` updates and the matching vehicles it excludes (with reasons)."""
    release = campaign.release
    hardware = set(campaign.targeting.hardware or (release.hardware_id,))
    versions = set(campaign.targeting.versions)
    history = known_versions(session, image_repo, release.hardware_id)
    requires = {ecu: VersionRange.parse(text) for ecu, text in release.requires.items()}
    conflicts = {ecu: VersionRange.parse(text) for ecu, text in release.conflicts.items()}
    targets: list[Target] = []
    exclusions: list[Exclusion] = []
    for vehicle in _candidates(session, campaign):
        software = current_software(vehicle)
        mine = software.get(release.ecu)
        if mine is None or mine.hardware_part not in hardware:
            continue
        if versions and mine.software_version not in versions:
            continue
        vid = vehicle.vehicle_id
        if mine.software_version not in history:
            exclusions.append(
                Exclusion(
                    vid,
                    "impossible-version",
                    f"{release.ecu} reports {mine.software_version}, which the image repository "
                    f"never signed for {release.hardware_id}",
                )
            )
            continue
        if mine.software_version == release.version:
            exclusions.append(
                Exclusion(vid, "already-installed", f"{release.ecu} already runs {release.version}")
            )
            continue
        others = {ecu: s.software_version for ecu, s in software.items() if ecu != release.ecu}
        problem = _dependency_problem(release.release_id, others, requires, conflicts)
        if problem is not None:
            exclusions.append(Exclusion(vid, *problem))
            continue
        targets.append(Target(vid, release.ecu, mine.hardware_part, mine.software_version, others))
    return TargetSelection(tuple(targets), tuple(exclusions))


def _dependency_problem(
    release_id: str,
    others: dict[str, str],
    requires: dict[str, VersionRange],
    conflicts: dict[str, VersionRange],
) -> tuple[str, str] | None:
    for ecu, needed in sorted(requires.items()):
        have = others.get(ecu)
        if have is None:
            return (
                "requires",
                f"{release_id} requires {ecu} {needed.text}; the vehicle has no {ecu}",
            )
        if not needed.contains(have):
            return "requires", f"{release_id} requires {ecu} {needed.text}; {ecu} runs {have}"
    for ecu, bad in sorted(conflicts.items()):
        have = others.get(ecu)
        if have is not None and bad.contains(have):
            return "conflicts", f"{release_id} conflicts with {ecu} {bad.text}; {ecu} runs {have}"
    return None


def check_campaign_scope(session: Session, campaign: Campaign, targets: Sequence[Target]) -> None:
    """Refuse a campaign that targets nothing or overlaps another active campaign."""
    if not targets:
        aim = campaign.targeting
        raise CampaignRefused(
            f"campaign {campaign.campaign_id} targets no vehicle: none with "
            f"{campaign.release.ecu} on {', '.join(aim.hardware) or campaign.release.hardware_id}"
            f" matches brands={list(aim.brands) or 'any'} models={list(aim.models) or 'any'} "
            f"markets={list(aim.markets) or 'any'} versions={list(aim.versions) or 'any'} "
            "(or every match was excluded)",
            hint="widen the targeting, or check the fleet registry's software inventory",
        )
    overlap = _overlapping(session, campaign, (t.vehicle_id for t in targets))
    if overlap:
        other, count, example = overlap
        raise CampaignRefused(
            f"campaign {campaign.campaign_id} conflicts with running campaign {other}: "
            f"{count} vehicle(s), e.g. {example}, would get two updates of {campaign.release.ecu}",
            hint=f"complete, roll back or narrow {other} first, or exclude those vehicles",
        )


def _overlapping(
    session: Session, campaign: Campaign, vehicle_ids: Iterable[str]
) -> tuple[str, int, str] | None:
    wanted = set(vehicle_ids)
    query = (
        select(OtaRolloutVehicleRow.campaign_id, OtaRolloutVehicleRow.vehicle_id)
        .join(OtaCampaignRow, OtaCampaignRow.campaign_id == OtaRolloutVehicleRow.campaign_id)
        .join(OtaReleaseRow, OtaReleaseRow.release_id == OtaCampaignRow.release_id)
        .where(
            OtaCampaignRow.status.in_(ACTIVE_STATUSES),
            OtaCampaignRow.campaign_id != campaign.campaign_id,
            OtaReleaseRow.ecu == campaign.release.ecu,
        )
        .order_by(OtaRolloutVehicleRow.campaign_id, OtaRolloutVehicleRow.vehicle_id)
    )
    clashes: dict[str, list[str]] = {}
    for other, vehicle_id in session.execute(query):
        if vehicle_id in wanted:
            clashes.setdefault(other, []).append(vehicle_id)
    if not clashes:
        return None
    other = min(clashes)
    return other, len(clashes[other]), clashes[other][0]

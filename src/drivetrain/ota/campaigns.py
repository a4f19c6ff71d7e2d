"""Releases and update campaigns: what is shipped, to whom, in which waves, under which gates.

A :class:`Release` is one image of the image repository as a campaign ships it
(ECU, hardware, version, safety or not, ``requires``/``conflicts`` on the
versions of the vehicle's other ECUs). A :class:`Campaign` targets vehicles by
brand, model, market, the ECU's current version and hardware revision, and
rolls the release out in :class:`WavePlan` stages gated by
:class:`GateSettings`. The decision engine is ``drivetrain.ota.rollout``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from drivetrain.errors import NotFound
from drivetrain.ota.repository import ImageRepository
from drivetrain.ota.rollout_errors import CampaignInputError
from drivetrain.ota.versions import VersionRange
from drivetrain.state.ota_models import OtaCampaignRow, OtaReleaseRow, OtaWaveRow

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


@dataclass(frozen=True, slots=True)
class WavePlan:
    """One stage: the cumulative share of targeted vehicles it reaches, and its thresholds."""

    share: float  # cumulative fraction in (0, 1]; the last wave is 1.0
    max_error_rate: float = 0.05  # failed installs / offered vehicles of the wave
    min_success_rate: float = 0.9  # installed / offered vehicles of the wave
    min_soak_s: float = 24 * 3600.0  # time after the wave is offered before it may pass


DEFAULT_WAVES: tuple[WavePlan, ...] = (
    WavePlan(0.01),
    WavePlan(0.10),
    WavePlan(0.50),
    WavePlan(1.00),
)


@dataclass(frozen=True, slots=True)
class GateSettings:
    """Health gates and per-vehicle preconditions of a campaign.

    The health gate compares the DTC and anomaly rates (events per vehicle-hour)
    of updated vehicles with the control group: it fails when a one-sided test of
    "rate > ``tolerated_rate_ratio`` x control" has p < ``alpha`` on at least
    ``min_events`` events of the updated vehicles; it passes only once the updated
    vehicles have ``min_exposure_h`` vehicle-hours of observation.
    """

    alpha: float = 0.01
    tolerated_rate_ratio: float = 1.5
    min_events: int = 5
    min_exposure_h: float = 24.0
    maintenance_window: tuple[int, int] = (1, 5)  # local hours [start, end), may wrap midnight
    require_parked: bool = True
    min_state_of_charge: float = 0.3  # fraction 0..1
    consent_purpose: str = "vehicle_health"  # checked for non-safety releases only
    consent_category: str = "technical"
    auto_rollback: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> GateSettings:
        values = dict(raw)
        if "maintenance_window" in values:
            start, end = values["maintenance_window"]
            values["maintenance_window"] = (int(start), int(end))
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Release:
    """An image of the image repository as campaigns ship it."""

    release_id: str
    ecu: str  # the ECU name in the fleet registry (and its serial for the director)
    hardware_id: str
    image_path: str
    version: str
    release_counter: int
    safety: bool
    requires: Mapping[str, str] = field(default_factory=dict)  # other ECU -> version range
    conflicts: Mapping[str, str] = field(default_factory=dict)  # other ECU -> version range


@dataclass(frozen=True, slots=True)
class Targeting:
    """Which vehicles a campaign is for; an empty tuple means "any"."""

    brands: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()  # current version of the release's ECU
    hardware: tuple[str, ...] = ()  # hardware revision of the release's ECU


@dataclass(frozen=True, slots=True)
class Campaign:
    """An update campaign as stored."""

    campaign_id: str
    release: Release
    targeting: Targeting
    gates: GateSettings
    waves: tuple[WavePlan, ...]
    status: str
    status_reason: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


def _check_id(what: str, value: str) -> None:
    if not _ID.match(value):
        raise CampaignInputError(
            f"{value!r} is not a valid {what}",
            hint="use letters, digits, '.', '_', ':' or '-' (at most 64 characters)",
        )


def register_release(
    session: Session,
    image_repo: ImageRepository,
    *,
    release_id: str,
    ecu: str,
    image_path: str,
    safety: bool,
    requires: Mapping[str, str] | None = None,
    conflicts: Mapping[str, str] | None = None,
    at: datetime | None = None,
) -> Release:
    """Register a release of an image the image repository already signs."""
    _check_id("release id", release_id)
    image = image_repo.image(image_path)  # NotFound names the path
    if session.get(OtaReleaseRow, release_id) is not None:
        raise CampaignInputError(
            f"release {release_id} already exists", hint="releases are immutable: use a new id"
        )
    for kind, ranges in (("requires", requires or {}), ("conflicts", conflicts or {})):
        for other, text in ranges.items():
            if other == ecu:
                raise CampaignInputError(
                    f"release {release_id} {kind} a version of its own ECU {ecu}",
                    hint="target the current version with the campaign's versions instead",
                )
            VersionRange.parse(text)
    release = Release(
        release_id,
        ecu,
        image.hardware_id,
        image.path,
        image.version,
        image.release_counter,
        safety,
        dict(requires or {}),
        dict(conflicts or {}),
    )
    session.add(
        OtaReleaseRow(
            release_id=release_id,
            ecu=ecu,
            hardware_id=release.hardware_id,
            image_path=release.image_path,
            version=release.version,
            release_counter=release.release_counter,
            safety=safety,
            requires=dict(release.requires),
            conflicts=dict(release.conflicts),
            notes="",
            created_at=at or datetime.now(UTC),
        )
    )
    session.flush()
    return release


def get_release(session: Session, release_id: str) -> Release:
    row = session.get(OtaReleaseRow, release_id)
    if row is None:
        raise NotFound(f"no release {release_id}", hint="register it first with register_release")
    return _release(row)


def _release(row: OtaReleaseRow) -> Release:
    return Release(
        row.release_id,
        row.ecu,
        row.hardware_id,
        row.image_path,
        row.version,
        row.release_counter,
        row.safety,
        dict(row.requires),
        dict(row.conflicts),
    )


def releases_for_hardware(session: Session, hardware_id: str) -> list[Release]:
    rows = session.scalars(select(OtaReleaseRow).where(OtaReleaseRow.hardware_id == hardware_id))
    return [_release(row) for row in rows]


def check_waves(waves: Sequence[WavePlan]) -> tuple[WavePlan, ...]:
    """``waves`` if their shares rise strictly to 1.0 and their thresholds make sense."""
    if not waves:
        raise CampaignInputError("a campaign needs at least one wave", hint="e.g. DEFAULT_WAVES")
    previous = 0.0
    for number, wave in enumerate(waves):
        if not (previous < wave.share <= 1.0) or math.isnan(wave.share):
            raise CampaignInputError(
                f"wave {number} has share {wave.share}; shares must rise strictly within (0, 1]",
                hint="shares are cumulative, e.g. 0.01, 0.10, 0.50, 1.00",
            )
        for name in ("max_error_rate", "min_success_rate"):
            if not 0.0 <= getattr(wave, name) <= 1.0:
                raise CampaignInputError(f"wave {number}: {name} must be within [0, 1]")
        if wave.min_soak_s < 0:
            raise CampaignInputError(f"wave {number}: min_soak_s must be >= 0 s")
        previous = wave.share
    if waves[-1].share != 1.0:
        raise CampaignInputError(
            f"the last wave reaches {waves[-1].share:.0%} of the targeted vehicles, not 100 %",
            hint="end with a wave of share 1.0",
        )
    return tuple(waves)


def _check_gates(gates: GateSettings) -> None:
    start, end = gates.maintenance_window
    problems = []
    if not (0 <= start <= 23 and 0 <= end <= 24):
        problems.append(f"maintenance_window {gates.maintenance_window} is not in local hours")
    if not 0 < gates.alpha < 0.5:
        problems.append(f"alpha {gates.alpha} is not within (0, 0.5)")
    if gates.tolerated_rate_ratio < 1.0:
        problems.append(f"tolerated_rate_ratio {gates.tolerated_rate_ratio} is below 1")
    if gates.min_events < 1 or gates.min_exposure_h <= 0:
        problems.append("min_events must be >= 1 and min_exposure_h > 0 h")
    if not 0.0 <= gates.min_state_of_charge <= 1.0:
        problems.append(f"min_state_of_charge {gates.min_state_of_charge} is not a fraction")
    if problems:
        raise CampaignInputError("; ".join(problems), hint="see GateSettings for the meanings")


def create_campaign(
    session: Session,
    *,
    campaign_id: str,
    release_id: str,
    targeting: Targeting | None = None,
    waves: Sequence[WavePlan] = DEFAULT_WAVES,
    gates: GateSettings | None = None,
    description: str = "",
    at: datetime | None = None,
) -> Campaign:
    """Store a draft campaign; ``drivetrain.ota.rollout.start_campaign`` targets and starts it."""
    _check_id("campaign id", campaign_id)
    release = get_release(session, release_id)
    plan = check_waves(waves)
    settings = gates or GateSettings()
    _check_gates(settings)
    aim = targeting or Targeting()
    foreign = [h for h in aim.hardware if h != release.hardware_id]
    if foreign:
        raise CampaignInputError(
            f"campaign {campaign_id} targets hardware {', '.join(foreign)}, but release "
            f"{release_id} is built for {release.hardware_id}",
            hint="make one release (and campaign) per hardware revision",
        )
    if session.get(OtaCampaignRow, campaign_id) is not None:
        raise CampaignInputError(f"campaign {campaign_id} already exists", hint="use a new id")
    now = at or datetime.now(UTC)
    session.add(
        OtaCampaignRow(
            campaign_id=campaign_id,
            release_id=release_id,
            description=description,
            status="draft",
            status_reason="",
            target_brands=list(aim.brands),
            target_models=list(aim.models),
            target_markets=list(aim.markets),
            target_versions=list(aim.versions),
            target_hardware=list(aim.hardware or (release.hardware_id,)),
            gates=settings.to_json(),
            created_at=now,
        )
    )
    session.flush()
    for number, wave in enumerate(plan):
        session.add(
            OtaWaveRow(
                campaign_id=campaign_id,
                wave=number,
                share=wave.share,
                max_error_rate=wave.max_error_rate,
                min_success_rate=wave.min_success_rate,
                min_soak_s=wave.min_soak_s,
                status="pending",
            )
        )
    session.flush()
    return get_campaign(session, campaign_id)


def campaign_row(session: Session, campaign_id: str) -> OtaCampaignRow:
    row = session.get(OtaCampaignRow, campaign_id)
    if row is None:
        raise NotFound(f"no OTA campaign {campaign_id}", hint="create it with create_campaign")
    return row


def wave_rows(session: Session, campaign_id: str) -> list[OtaWaveRow]:
    query = select(OtaWaveRow).where(OtaWaveRow.campaign_id == campaign_id)
    return list(session.scalars(query.order_by(OtaWaveRow.wave)))


def get_campaign(session: Session, campaign_id: str) -> Campaign:
    row = campaign_row(session, campaign_id)
    waves = tuple(
        WavePlan(w.share, w.max_error_rate, w.min_success_rate, w.min_soak_s)
        for w in wave_rows(session, campaign_id)
    )
    return Campaign(
        campaign_id=row.campaign_id,
        release=get_release(session, row.release_id),
        targeting=Targeting(
            tuple(row.target_brands),
            tuple(row.target_models),
            tuple(row.target_markets),
            tuple(row.target_versions),
            tuple(row.target_hardware),
        ),
        gates=GateSettings.from_json(row.gates),
        waves=waves,
        status=row.status,
        status_reason=row.status_reason,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )

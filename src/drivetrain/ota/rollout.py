"""Staged rollouts: waves, gates, automatic pause and rollback — the decision engine.

* **Waves** are assigned deterministically: each targeted vehicle gets the
  position ``sha256(campaign_id:vehicle_id)`` in [0, 1); ranked by it, the first
  ``ceil(share x N)`` vehicles fall in the waves up to that share. Until the last
  wave, the vehicles of later waves are the control group.
* :func:`tick` offers pending vehicles whose preconditions hold, then gates the
  current wave: it **fails** at once when the error rate exceeds its threshold
  or a health gate fails (``drivetrain.ota.health_gates``), and **passes** only
  after the soak time with the success rate met and every health gate passing.
  A pass offers the next wave or completes the campaign; a failure pauses it
  and, with ``auto_rollback``, rolls the offered vehicles back.
* Every decision — start, exclusion, advance, pause, rollback, complete,
  refusal — is recorded with ``governance.record_output`` (kind
  ``rollout_decision``) with its evidence, and listed in ``ota_rollout_decisions``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from drivetrain.ota.campaigns import Campaign, campaign_row, get_campaign, wave_rows
from drivetrain.ota.decisions import (
    DECISION_KIND,
    OFFERED,
    GateEvaluation,
    RolloutContext,
    record_decision,
    rollout_vehicles,
)
from drivetrain.ota.health_gates import ObservationWindow, RateTest, compare_rates
from drivetrain.ota.install_reports import report_install
from drivetrain.ota.offers import offer_image, rollback_image
from drivetrain.ota.preconditions import governance_consent, unmet_preconditions
from drivetrain.ota.rollout_errors import CampaignStateError
from drivetrain.ota.targeting import check_campaign_scope, select_targets
from drivetrain.state.ota_models import OtaRolloutVehicleRow, OtaWaveRow

__all__ = [
    "DECISION_KIND",
    "GateEvaluation",
    "RolloutContext",
    "assign_waves",
    "offer_pending",
    "pause_campaign",
    "report_install",
    "resume_campaign",
    "rollback_campaign",
    "start_campaign",
    "tick",
    "wave_position",
]


def wave_position(campaign_id: str, vehicle_id: str) -> float:
    """The vehicle's deterministic position in [0, 1) for this campaign."""
    digest = hashlib.sha256(f"{campaign_id}:{vehicle_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_waves(
    campaign_id: str, vehicle_ids: Sequence[str], shares: Sequence[float]
) -> dict[str, tuple[int, float]]:
    """Wave number and position of each vehicle; wave ``i`` ends at rank ``ceil(share_i x N)``."""
    ranked = sorted((wave_position(campaign_id, v), v) for v in vehicle_ids)
    ends = [math.ceil(share * len(ranked) - 1e-9) for share in shares]
    waves: dict[str, tuple[int, float]] = {}
    for rank, (position, vehicle_id) in enumerate(ranked):
        waves[vehicle_id] = (next(i for i, end in enumerate(ends) if rank < end), position)
    return waves


def start_campaign(ctx: RolloutContext, campaign_id: str, at: datetime) -> GateEvaluation:
    """Target, assign waves, record exclusions and the start, and offer the first wave."""
    campaign = get_campaign(ctx.session, campaign_id)
    if campaign.status != "draft":
        raise CampaignStateError(
            f"campaign {campaign_id} is {campaign.status}; only a draft campaign can start"
        )
    selection = select_targets(ctx.session, campaign, ctx.image)
    check_campaign_scope(ctx.session, campaign, selection.targets)
    waves = assign_waves(
        campaign_id, [t.vehicle_id for t in selection.targets], [w.share for w in campaign.waves]
    )
    for target in selection.targets:
        number, position = waves[target.vehicle_id]
        ctx.session.add(
            OtaRolloutVehicleRow(
                campaign_id=campaign_id,
                vehicle_id=target.vehicle_id,
                ecu=target.ecu,
                wave=number,
                bucket=position,
                status="pending",
                from_version=target.current_version,
                reason="",
                updated_at=at,
            )
        )
    row = campaign_row(ctx.session, campaign_id)
    row.status, row.started_at = "running", at
    ctx.session.flush()
    if selection.exclusions:
        by_code: dict[str, int] = {}
        for item in selection.exclusions:
            by_code[item.code] = by_code.get(item.code, 0) + 1
        record_decision(
            ctx,
            campaign,
            "exclusion",
            None,
            at,
            f"{len(selection.exclusions)} matching vehicle(s) excluded",
            {"counts": by_code, "vehicles": [e.to_json() for e in selection.exclusions]},
        )
    sizes = [sum(1 for w, _ in waves.values() if w == i) for i in range(len(campaign.waves))]
    decision_id = record_decision(
        ctx,
        campaign,
        "start",
        0,
        at,
        f"started with {len(selection.targets)} vehicle(s) in waves of {sizes}",
        {
            "targets": len(selection.targets),
            "wave_sizes": sizes,
            "shares": [w.share for w in campaign.waves],
        },
    )
    _open_wave(ctx, campaign, 0, at)
    return GateEvaluation(campaign_id, 0, "start", {"wave_sizes": sizes}, decision_id)


def _open_wave(ctx: RolloutContext, campaign: Campaign, number: int, at: datetime) -> None:
    wave = ctx.session.get(OtaWaveRow, (campaign.campaign_id, number))
    assert wave is not None
    wave.status, wave.offered_at = "offered", at
    ctx.session.flush()
    offer_pending(ctx, campaign, at)


def offer_pending(ctx: RolloutContext, campaign: Campaign, at: datetime) -> int:
    """Offer every pending vehicle of an opened wave whose preconditions hold; returns how many."""
    opened = {w.wave for w in wave_rows(ctx.session, campaign.campaign_id) if w.status != "pending"}
    image = ctx.image.image(campaign.release.image_path)
    consent = ctx.consent or governance_consent(
        ctx.session, campaign.gates.consent_purpose, campaign.gates.consent_category
    )
    offered = 0
    for row in rollout_vehicles(ctx.session, campaign.campaign_id):
        if row.status != "pending" or row.wave not in opened:
            continue
        reasons = unmet_preconditions(
            campaign.gates,
            ctx.conditions(row.vehicle_id, at),
            at,
            safety=campaign.release.safety,
            consent=lambda vid=row.vehicle_id: consent(vid, at),  # type: ignore[misc]
        )
        row.updated_at = at
        if reasons:
            row.reason = "; ".join(reasons)
            continue
        offer_image(ctx.director, row.vehicle_id, row.ecu, image)
        row.status, row.offered_at, row.reason = "offered", at, ""
        offered += 1
    ctx.session.flush()
    return offered


def _health_tests(
    ctx: RolloutContext, campaign: Campaign, wave: OtaWaveRow, at: datetime
) -> list[RateTest]:
    rows = rollout_vehicles(ctx.session, campaign.campaign_id)
    updated = [r for r in rows if r.status == "installed" and r.installed_at is not None]
    control = [r for r in rows if r.status == "pending" and r.wave > wave.wave]
    treated = [ObservationWindow(r.vehicle_id, r.installed_at, at) for r in updated]  # type: ignore[arg-type]
    if control:
        since = wave.offered_at or at
        baseline = [ObservationWindow(r.vehicle_id, since, at) for r in control]
        kind = "not-yet-updated vehicles"
    else:  # the last wave: no one is left un-updated, compare with before the install
        baseline = [
            ObservationWindow(w.vehicle_id, w.start - (w.end - w.start), w.start) for w in treated
        ]
        kind = "same vehicles before install"
    counts_t = ctx.health.counts(treated)
    counts_c = ctx.health.counts(baseline)
    exposure_t = sum(w.hours for w in treated)
    exposure_c = sum(w.hours for w in baseline)
    gates = campaign.gates
    tests = []
    for signal in ("dtc", "anomalies"):
        x_t = sum(getattr(c, signal) for c in counts_t.values())
        x_c = sum(getattr(c, signal) for c in counts_c.values())
        tests.append(
            compare_rates(
                signal,
                (x_t, exposure_t),
                (x_c, exposure_c),
                tolerated_rate_ratio=gates.tolerated_rate_ratio,
                alpha=gates.alpha,
                min_events=gates.min_events,
                min_exposure_h=gates.min_exposure_h,
                control_kind=kind,
            )
        )
    return tests


def tick(ctx: RolloutContext, campaign_id: str, at: datetime) -> GateEvaluation:
    """Offer what can be offered, then gate the current wave (advance, complete, hold or halt)."""
    campaign = get_campaign(ctx.session, campaign_id)
    if campaign.status != "running":
        return GateEvaluation(campaign_id, -1, campaign.status)
    offer_pending(ctx, campaign, at)
    waves = wave_rows(ctx.session, campaign_id)
    wave = max((w for w in waves if w.status == "offered"), key=lambda w: w.wave)
    rows = [r for r in rollout_vehicles(ctx.session, campaign_id) if r.wave == wave.wave]
    offered = [r for r in rows if r.status in OFFERED]
    failed = sum(1 for r in offered if r.status == "failed")
    installed = sum(1 for r in offered if r.status == "installed")
    error_rate = failed / len(offered) if offered else 0.0
    success_rate = installed / len(offered) if offered else 0.0
    soaked_s = (at - (wave.offered_at or at)).total_seconds()
    tests = _health_tests(ctx, campaign, wave, at)
    evidence: dict[str, Any] = {
        "wave_vehicles": len(rows),
        "offered": len(offered),
        "installed": installed,
        "failed": failed,
        "deferred": len(rows) - len(offered),
        "error_rate": error_rate,
        "max_error_rate": wave.max_error_rate,
        "success_rate": success_rate,
        "min_success_rate": wave.min_success_rate,
        "soaked_s": soaked_s,
        "min_soak_s": wave.min_soak_s,
        "health": [t.evidence() for t in tests],
    }
    failures = [
        f"{t.signal} rate gate failed (p={t.p_value:.2g})" for t in tests if t.verdict == "fail"
    ]
    if offered and error_rate > wave.max_error_rate:
        failures.insert(0, f"error rate {error_rate:.1%} above {wave.max_error_rate:.1%}")
    if failures:
        wave.status, wave.decided_at = "failed", at
        reason = f"wave {wave.wave}: " + "; ".join(failures)
        decision = pause_campaign(ctx, campaign_id, reason, at, evidence=evidence)
        if campaign.gates.auto_rollback:
            decision = rollback_campaign(ctx, campaign_id, reason, at, evidence=evidence)
            return GateEvaluation(campaign_id, wave.wave, "rollback", evidence, decision)
        return GateEvaluation(campaign_id, wave.wave, "pause", evidence, decision)
    waiting = []
    if soaked_s < wave.min_soak_s:
        waiting.append("soak time")
    if not offered or success_rate < wave.min_success_rate:
        waiting.append("success rate")
    waiting += [f"{t.signal} gate" for t in tests if t.verdict != "pass"]
    if waiting:
        evidence["waiting_for"] = waiting
        return GateEvaluation(campaign_id, wave.wave, "hold", evidence)
    wave.status, wave.decided_at = "passed", at
    if wave.wave == len(waves) - 1:
        row = campaign_row(ctx.session, campaign_id)
        row.status, row.ended_at, row.status_reason = "completed", at, "every wave passed"
        decision = record_decision(
            ctx, campaign, "complete", wave.wave, at, "every wave passed", evidence
        )
        return GateEvaluation(campaign_id, wave.wave, "complete", evidence, decision)
    decision = record_decision(
        ctx, campaign, "advance", wave.wave + 1, at, f"wave {wave.wave} passed its gates", evidence
    )
    _open_wave(ctx, campaign, wave.wave + 1, at)
    return GateEvaluation(campaign_id, wave.wave + 1, "advance", evidence, decision)


def pause_campaign(
    ctx: RolloutContext,
    campaign_id: str,
    reason: str,
    at: datetime,
    *,
    evidence: dict[str, Any] | None = None,
) -> str:
    """Stop offering the update; returns the decision id."""
    campaign = get_campaign(ctx.session, campaign_id)
    if campaign.status != "running":
        raise CampaignStateError(f"campaign {campaign_id} is {campaign.status}, not running")
    row = campaign_row(ctx.session, campaign_id)
    row.status, row.status_reason = "paused", reason
    return record_decision(ctx, campaign, "pause", None, at, reason, evidence or {})


def resume_campaign(ctx: RolloutContext, campaign_id: str, reason: str, at: datetime) -> str:
    campaign = get_campaign(ctx.session, campaign_id)
    if campaign.status != "paused":
        raise CampaignStateError(f"campaign {campaign_id} is {campaign.status}, not paused")
    row = campaign_row(ctx.session, campaign_id)
    row.status, row.status_reason = "running", reason
    return record_decision(ctx, campaign, "resume", None, at, reason, {})


def rollback_campaign(
    ctx: RolloutContext,
    campaign_id: str,
    reason: str,
    at: datetime,
    *,
    evidence: dict[str, Any] | None = None,
) -> str:
    """Tell every offered vehicle to return to the version it ran before; returns the decision id."""
    campaign = get_campaign(ctx.session, campaign_id)
    if campaign.status not in ("running", "paused"):
        raise CampaignStateError(
            f"campaign {campaign_id} is {campaign.status}; only a running or paused one rolls back"
        )
    release = campaign.release
    images: dict[str, str] = {}
    vehicles = [r for r in rollout_vehicles(ctx.session, campaign_id) if r.status in OFFERED]
    for row in vehicles:
        image = rollback_image(
            ctx.image, release.hardware_id, row.from_version, release.release_counter
        )
        images[row.from_version] = image.path
        offer_image(ctx.director, row.vehicle_id, row.ecu, image)
        row.status, row.updated_at, row.reason = "rolled_back", at, reason
    campaign_ = campaign_row(ctx.session, campaign_id)
    campaign_.status, campaign_.status_reason, campaign_.ended_at = "rolled_back", reason, at
    return record_decision(
        ctx,
        campaign,
        "rollback",
        None,
        at,
        f"{len(vehicles)} vehicle(s) told to return to {', '.join(sorted(images)) or '-'}: {reason}",
        {**(evidence or {}), "rolled_back_vehicles": len(vehicles), "rollback_images": images},
    )

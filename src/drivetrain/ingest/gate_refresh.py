"""Keeping a long-running source's collection gate current with the control plane.

A :class:`~drivetrain.ingest.CampaignFilter` is a snapshot: the active
campaigns, the registered vehicles, their subjects' consent and the data keys
as they were when it was built. A source that runs for days (the MQTT
gateway) must not keep collecting under a consent that was withdrawn since,
so :class:`GateRefresher` rebuilds its gate from the control plane once
``interval_s`` has passed, when the next batch opens (an idle stream does not
poll; a whole batch is decoded and gated under one view of the control
plane). A withdrawal, a new owner link, a newly registered vehicle or a
started or stopped campaign thus applies to every batch opened ``interval_s``
or more after it was committed (stored at most one batch period later), and
to some sooner.

If a rebuild fails (the state database is down), the failure is logged with
how old the gate in use is, counted, and the previous gate stays in use until
a rebuild succeeds: the stream neither stops nor is stored without a gate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeAlias

from drivetrain.catalog import VehicleModel, get_vehicle_model
from drivetrain.errors import DrivetrainError, InputError, NotFound
from drivetrain.fleet import list_vehicles
from drivetrain.governance.keys import Keyring
from drivetrain.ingest.campaign_store import list_campaigns
from drivetrain.ingest.campaigns import CampaignFilter, targets_of
from drivetrain.ingest.gate import collection_gate
from drivetrain.state import session_scope

log = logging.getLogger(__name__)

GateFactory: TypeAlias = Callable[[], CampaignFilter]
"""Builds the collection gate as the control plane defines it at the time of the call."""

DEFAULT_REFRESH_S = 30.0


class ControlPlaneGate:
    """A :data:`GateFactory` reading the state database at ``state_url`` on every call.

    Each call lists the active campaigns and the registered vehicles, builds
    their gate with :func:`~drivetrain.ingest.gate.collection_gate` and commits
    the data keys it created before returning it (a gate may only seal under
    committed keys). ``vehicle_models`` (vehicle id → model, for decoding CAN
    payloads) is updated in place by every successful call, so a decoder built
    on it knows vehicles registered since.
    """

    def __init__(self, state_url: str, keyring: Keyring) -> None:
        self.state_url = state_url
        self.keyring = keyring
        self.vehicle_models: dict[str, VehicleModel] = {}
        self.active_campaigns = 0
        self.registered_vehicles = 0
        self._unknown_models: set[str] = set()

    def __call__(self) -> CampaignFilter:
        with session_scope(self.state_url) as session:
            campaigns = list_campaigns(session, active_only=True)
            registered = list_vehicles(session)
            targets = targets_of(registered)
            # no active campaign means nothing is collected, as for every other source
            gate = collection_gate(session, self.keyring, campaigns, targets)
        models: dict[str, VehicleModel] = {}
        unknown: set[str] = set()
        for vehicle in registered:
            try:
                models[vehicle.vehicle_id] = get_vehicle_model(vehicle.model_id)
            except NotFound:
                # one odd registration must not hold back every consent change behind it
                unknown.add(vehicle.model_id)
        if new := unknown - self._unknown_models:
            log.warning(
                "no vehicle model %s: CAN payloads of those vehicles cannot be decoded",
                ", ".join(sorted(new)),
            )
        self._unknown_models = unknown
        self.vehicle_models.clear()
        self.vehicle_models.update(models)
        self.active_campaigns = len(gate.campaigns)
        self.registered_vehicles = len(targets)
        return gate


class GateRefresher:
    """The current collection gate of a stream, rebuilt by ``factory`` every ``interval_s``.

    A rebuilt :class:`CampaignFilter` starts with fresh cross-batch state,
    except that a campaign unchanged by the rebuild keeps its sampling buckets
    and latest triggers: a refresh neither stores a second value in a sampling
    period nor cuts an open post-trigger window short. A campaign that is new
    or was changed starts fresh.
    """

    def __init__(
        self,
        factory: GateFactory,
        interval_s: float = DEFAULT_REFRESH_S,
        *,
        initial: CampaignFilter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``initial`` is the gate to start with (``factory`` builds it when omitted);
        ``interval_s`` 0 rebuilds before every batch."""
        if not interval_s >= 0:
            raise InputError(f"the gate refresh interval must be >= 0 s, got {interval_s}")
        self._factory = factory
        self.interval_s = interval_s
        self._clock = clock
        self.current = factory() if initial is None else initial
        self.built_at = self._attempted_at = clock()
        self.refreshes = 0
        self.failures = 0
        self.refresh_s = 0.0
        self._failing = 0

    def refreshed(self) -> CampaignFilter:
        """The gate for the next batch, rebuilt first if ``interval_s`` has passed."""
        now = self._clock()
        if now - self._attempted_at < self.interval_s:
            return self.current
        self._attempted_at = now
        began = time.perf_counter()
        try:
            fresh = self._factory()
        except Exception as exc:  # noqa: BLE001 - the stream goes on under the previous gate
            self.failures += 1
            self._failing += 1
            self._log_failure(exc, now)
            return self.current
        finally:
            self.refresh_s += time.perf_counter() - began
        fresh.carry_state_from(self.current)
        if self._failing:
            log.warning("collection gate refreshed after %d failed attempt(s)", self._failing)
        self.current, self.built_at = fresh, now
        self.refreshes += 1
        self._failing = 0
        return fresh

    def _log_failure(self, exc: Exception, now: float) -> None:
        # A DrivetrainError already says what and where; anything else is a bug: keep its trace.
        log.error(
            "cannot refresh the collection gate (attempt %d): %s. Still storing under the gate "
            "built %.0f s ago: consent withdrawals, owner links, vehicles and campaigns "
            "recorded since then are not applied yet; retrying after %g s",
            self._failing,
            exc,
            now - self.built_at,
            self.interval_s,
            exc_info=not isinstance(exc, DrivetrainError),
        )

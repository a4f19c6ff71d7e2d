"""Is there a legal basis to store this row? The vectorised decision at the collection gate.

:class:`LegalBasisIndex` answers, for a batch of ``(vehicle_id, ts, category)``
rows and one purpose, which rows may be stored. A row is allowed iff, at its
timestamp, every data subject linked to the vehicle (owner and drivers) has a
valid legal basis for its data category under the purpose in the vehicle's
region:

* where the region's policy requires consent, the subject's latest consent
  event at or before ``ts`` is *given* with legal basis ``consent``;
* where it accepts a standing basis (contract, legitimate interest, legal
  obligation), the basis applies unless the subject's latest event is a
  withdrawal (an objection); a legal obligation cannot be objected to.

A vehicle with **no registered subject** at ``ts`` is decided by the region's
``[no_subject]`` policy: by default only technical data, and only where the
region accepts a standing basis such as legitimate interest for it. Personal
categories (location, driving behaviour, identity, cabin) are refused with
"vehicle has no registered subject at this time".

The index loads links, consent histories and policies once
(:meth:`LegalBasisIndex.build`) and turns them into a timeline of segments per
vehicle × category; :meth:`~LegalBasisIndex.allowed` then looks every row up
with ``numpy.searchsorted``, with no Python loop over rows.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from drivetrain.governance.consent import ConsentRecord, histories
from drivetrain.governance.policies import DATA_CATEGORIES, RegionPolicy, load_region_policies
from drivetrain.governance.purposes import check_purpose
from drivetrain.governance.subjects import SubjectLink, links_of_vehicles, require_aware
from drivetrain.state.models import VehicleRow

NO_SUBJECT = "vehicle has no registered subject at this time"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN = np.iinfo(np.int64).min
_LOOKUP_CHUNK = 500


def to_us(value: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    return (value - _EPOCH) // timedelta(microseconds=1)


def _iso_us(ts_us: int) -> str:
    moment = _EPOCH + timedelta(microseconds=ts_us)
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class _Event:
    at_us: int
    action: str
    legal_basis: str


@dataclass(frozen=True, slots=True)
class _Link:
    subject_id: str
    start_us: int
    end_us: int | None

    def holds(self, ts_us: int) -> bool:
        return self.start_us <= ts_us and (self.end_us is None or ts_us < self.end_us)


class LegalBasisIndex:
    """Per vehicle × data category, when data may be collected for one purpose."""

    def __init__(
        self,
        purpose: str,
        vehicle_index: Mapping[str, int],
        seg_key: npt.NDArray[np.int64],
        seg_start: npt.NDArray[np.int64],
        seg_allowed: npt.NDArray[np.bool_],
        seg_reason: npt.NDArray[np.int64],
        reasons: list[str],
        window: tuple[int | None, int | None],
    ) -> None:
        self.purpose = purpose
        self._vehicles = dict(vehicle_index)
        self._seg_key = seg_key
        self._seg_start = seg_start
        self._seg_allowed = seg_allowed
        self._seg_reason = seg_reason
        self._reasons = list(reasons)
        self._window = window
        starts = seg_start[seg_start != _MIN]
        self._breaks = np.unique(starts)
        self._seg_rank = np.where(
            seg_start == _MIN, 0, np.searchsorted(self._breaks, seg_start, "left") + 1
        ).astype(np.int64)
        self._span = np.int64(len(self._breaks) + 1)
        self._seg_composite = seg_key * self._span + self._seg_rank

    @classmethod
    def build(
        cls,
        session: Session,
        vehicle_ids: Iterable[str],
        purpose: str,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        policies: Mapping[str, RegionPolicy] | None = None,
    ) -> LegalBasisIndex:
        """Load links, consent histories and policies for ``vehicle_ids`` once.

        Rows are decided for ``[since, until)``; rows outside it are refused,
        since consent events after ``until`` were not loaded.
        """
        check_purpose(purpose)
        since_us = None if since is None else to_us(require_aware(since, "since"))
        until_us = None if until is None else to_us(require_aware(until, "until"))
        policies = load_region_policies() if policies is None else policies
        ids = sorted(set(vehicle_ids))
        regions: dict[str, str] = {}
        for i in range(0, len(ids), _LOOKUP_CHUNK):
            rows = session.execute(
                select(VehicleRow.vehicle_id, VehicleRow.region).where(
                    VehicleRow.vehicle_id.in_(ids[i : i + _LOOKUP_CHUNK])
                )
            )
            regions.update({str(v): str(r) for v, r in rows})
        links: dict[str, list[SubjectLink]] = {}
        for link in links_of_vehicles(session, regions):
            links.setdefault(link.vehicle_id, []).append(link)
        subject_ids = {link.subject_id for group in links.values() for link in group}
        events = _events_by_subject(histories(session, subject_ids), purpose, until_us)
        builder = _TimelineBuilder(purpose, policies)
        vehicle_index = {v: n for n, v in enumerate(sorted(regions))}
        for vehicle_id, n in vehicle_index.items():
            vlinks = [
                _Link(
                    link.subject_id,
                    to_us(link.valid_from),
                    None if link.valid_to is None else to_us(link.valid_to),
                )
                for link in links.get(vehicle_id, [])
            ]
            for c, category in enumerate(DATA_CATEGORIES):
                builder.add(
                    n * len(DATA_CATEGORIES) + c, regions[vehicle_id], category, vlinks, events
                )
        return cls(purpose, vehicle_index, *builder.arrays(), (since_us, until_us))

    def allowed(
        self,
        vehicle_id: npt.NDArray[np.object_],
        ts_us: npt.NDArray[np.int64],
        category: npt.NDArray[np.object_],
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.object_]]:
        """(mask of rows with a legal basis, reason per row: "" where allowed)."""
        n = len(ts_us)
        ts = np.asarray(ts_us, dtype=np.int64)
        ncat = len(DATA_CATEGORIES)
        v_idx = (
            pl.Series("v", vehicle_id, dtype=pl.String)
            .replace_strict(self._vehicles, default=-1, return_dtype=pl.Int64)
            .to_numpy()
        )
        c_idx = (
            pl.Series("c", category, dtype=pl.String)
            .replace_strict(
                {c: i for i, c in enumerate(DATA_CATEGORIES)}, default=-1, return_dtype=pl.Int64
            )
            .to_numpy()
        )
        known = (v_idx >= 0) & (c_idx >= 0)
        key = np.where(known, v_idx * ncat + c_idx, 0)
        rank = np.searchsorted(self._breaks, ts, "right").astype(np.int64)
        seg = np.searchsorted(self._seg_composite, key * self._span + rank, "right") - 1
        seg = np.clip(seg, 0, max(len(self._seg_key) - 1, 0))
        if len(self._seg_key):
            mask = self._seg_allowed[seg] & known
            reason_id = np.where(known, self._seg_reason[seg], -1)
        else:
            mask = np.zeros(n, dtype=bool)
            reason_id = np.full(n, -1, dtype=np.int64)
        table = np.asarray([*self._reasons], dtype=object)
        reasons = np.empty(n, dtype=object)
        reasons[:] = table[np.clip(reason_id, 0, None)] if len(table) else ""
        since_us, until_us = self._window
        outside = np.zeros(n, dtype=bool)
        if since_us is not None:
            outside |= ts < since_us
        if until_us is not None:
            outside |= ts >= until_us
        if outside.any():
            mask &= ~outside
            reasons[outside] = "row time is outside the window the legal-basis index was built for"
        if not known.all():
            self._explain_unknown(category, ~known, v_idx, c_idx, reasons)
        reasons[mask] = ""
        return mask, reasons

    def _explain_unknown(
        self,
        category: npt.NDArray[np.object_],
        unknown: npt.NDArray[np.bool_],
        v_idx: npt.NDArray[np.int64],
        c_idx: npt.NDArray[np.int64],
        reasons: npt.NDArray[np.object_],
    ) -> None:
        bad_category = unknown & (c_idx < 0)
        if bad_category.any():
            reasons[bad_category] = [f"unknown data category {c!r}" for c in category[bad_category]]
        bad_vehicle = unknown & (c_idx >= 0) & (v_idx < 0)
        if bad_vehicle.any():
            reasons[bad_vehicle] = "vehicle is not registered (or was not in the index)"


def _events_by_subject(
    history: Mapping[str, list[ConsentRecord]], purpose: str, until_us: int | None
) -> dict[tuple[str, str], list[_Event]]:
    out: dict[tuple[str, str], list[_Event]] = {}
    for subject_id, records in history.items():
        for record in records:  # already in effect order
            at_us = to_us(record.at)
            if record.purpose != purpose or (until_us is not None and at_us >= until_us):
                continue
            out.setdefault((subject_id, record.data_category), []).append(
                _Event(at_us, record.action, record.legal_basis)
            )
    return out


class _TimelineBuilder:
    """Turns links and consent events into [start, next start) segments with a verdict."""

    def __init__(self, purpose: str, policies: Mapping[str, RegionPolicy]) -> None:
        self.purpose = purpose
        self.policies = policies
        self.keys: list[int] = []
        self.starts: list[int] = []
        self.allowed: list[bool] = []
        self.reason_ids: list[int] = []
        self.reasons: dict[str, int] = {"": 0}

    def add(
        self,
        key: int,
        region: str,
        category: str,
        links: list[_Link],
        events: Mapping[tuple[str, str], list[_Event]],
    ) -> None:
        subjects = sorted({link.subject_id for link in links})
        relevant = {s: events.get((s, category), []) for s in subjects}
        points = {_MIN}
        for link in links:
            points.add(link.start_us)
            if link.end_us is not None:
                points.add(link.end_us)
        for evs in relevant.values():
            points.update(e.at_us for e in evs)
        previous: tuple[bool, str] | None = None
        for point in sorted(points):
            verdict = self.decide(region, category, point, links, relevant)
            if verdict == previous:
                continue
            previous = verdict
            self.keys.append(key)
            self.starts.append(point)
            self.allowed.append(verdict[0])
            self.reason_ids.append(self.reasons.setdefault(verdict[1], len(self.reasons)))

    def decide(
        self,
        region: str,
        category: str,
        ts_us: int,
        links: list[_Link],
        events: Mapping[str, list[_Event]],
    ) -> tuple[bool, str]:
        policy = self.policies.get(region)
        if policy is None:
            return False, f"no data-protection policy for region {region!r}"
        basis = policy.basis_for(self.purpose, category)
        current = sorted({link.subject_id for link in links if link.holds(ts_us)})
        if not current:
            return policy.allowed_without_subject(self.purpose, category), NO_SUBJECT
        where = f"no legal basis for {category} under {self.purpose} in {region}"
        for subject_id in current:
            evs = events.get(subject_id, [])
            i = bisect.bisect_right([e.at_us for e in evs], ts_us)
            latest = evs[i - 1] if i else None
            if latest is None:
                if basis == "consent":
                    return False, f"{where} (consent required, none given)"
            elif latest.action == "withdrawn":
                if basis != "legal_obligation":
                    what = "consent withdrawn" if basis == "consent" else "objection"
                    return False, f"{where} ({what} {_iso_us(latest.at_us)})"
            elif basis == "consent" and latest.legal_basis != "consent":
                return False, f"{where} (consent required; {latest.legal_basis} recorded)"
        return True, ""

    def arrays(
        self,
    ) -> tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.bool_],
        npt.NDArray[np.int64],
        list[str],
    ]:
        return (
            np.asarray(self.keys, dtype=np.int64),
            np.asarray(self.starts, dtype=np.int64),
            np.asarray(self.allowed, dtype=bool),
            np.asarray(self.reason_ids, dtype=np.int64),
            list(self.reasons),
        )

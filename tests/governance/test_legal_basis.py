"""The collection gate's legal-basis decision: semantics, a per-row reference, and speed."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy.orm import Session

from drivetrain.governance.consent import consent_history, give_consent, withdraw_consent
from drivetrain.governance.legal_basis import NO_SUBJECT, LegalBasisIndex, to_us
from drivetrain.governance.policies import DATA_CATEGORIES, load_region_policies
from drivetrain.governance.subjects import link_vehicle, links_of_vehicles, register_subject
from drivetrain.state import session_scope

from .test_consent import add_vehicle

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SALE = datetime(2026, 6, 1, tzinfo=UTC)
WITHDRAWN = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
AGAIN = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def decide(index: LegalBasisIndex, rows: list[tuple[str, datetime, str]]) -> list[tuple[bool, str]]:
    vehicle = np.array([r[0] for r in rows], dtype=object)
    ts = np.array([to_us(r[1]) for r in rows], dtype=np.int64)
    category = np.array([r[2] for r in rows], dtype=object)
    mask, reasons = index.allowed(vehicle, ts, category)
    return list(zip(mask.tolist(), reasons.tolist(), strict=True))


def test_withdrawal_affects_later_rows_only_and_consent_can_return(migrated_url: str) -> None:
    with session_scope(migrated_url) as s:
        vehicle = add_vehicle(s, 1)
        register_subject(s, "alice", kind="owner", display_name="Alice", region="eu")
        link_vehicle(s, "alice", vehicle, "owner", T0)
        give_consent(s, "alice", "vehicle_health", "location", notice_version="v1", at=T0)
        withdraw_consent(s, "alice", "vehicle_health", "location", at=WITHDRAWN)
        give_consent(s, "alice", "vehicle_health", "location", notice_version="v2", at=AGAIN)
        index = LegalBasisIndex.build(s, [vehicle], "vehicle_health", T0, END)
    got = decide(
        index,
        [
            (vehicle, WITHDRAWN - US, "location"),
            (vehicle, WITHDRAWN, "location"),
            (vehicle, WITHDRAWN + US, "technical"),  # legitimate interest in the EU
            (vehicle, AGAIN - US, "location"),
            (vehicle, AGAIN, "location"),
        ],
    )
    assert [ok for ok, _ in got] == [True, False, True, False, True]
    assert got[1][1] == (
        "no legal basis for location under vehicle_health in eu "
        "(consent withdrawn 2026-10-05T12:00:00Z)"
    )
    assert got[0][1] == got[2][1] == ""


def test_a_vehicle_changing_hands_switches_whose_consent_applies(migrated_url: str) -> None:
    with session_scope(migrated_url) as s:
        vehicle = add_vehicle(s, 2)
        for name in ("alice", "bob"):
            register_subject(s, name, kind="owner", display_name=name.title(), region="eu")
        link_vehicle(s, "alice", vehicle, "owner", T0, SALE)
        link_vehicle(s, "bob", vehicle, "owner", SALE)
        give_consent(s, "alice", "vehicle_health", "location", notice_version="v1", at=T0)
        index = LegalBasisIndex.build(s, [vehicle], "vehicle_health", T0, END)
    got = decide(index, [(vehicle, SALE - US, "location"), (vehicle, SALE, "location")])
    assert got == [
        (True, ""),
        (
            False,
            "no legal basis for location under vehicle_health in eu (consent required, none given)",
        ),
    ]


def test_eu_needs_consent_for_location_where_the_us_accepts_legitimate_interest(
    migrated_url: str,
) -> None:
    with session_scope(migrated_url) as s:
        eu = add_vehicle(s, 3, region="eu", market="DE")
        us = add_vehicle(s, 4, region="us", market="US")
        register_subject(s, "anna", kind="owner", display_name="Anna", region="eu")
        register_subject(s, "joe", kind="owner", display_name="Joe", region="us")
        link_vehicle(s, "anna", eu, "owner", T0)
        link_vehicle(s, "joe", us, "owner", T0)
        index = LegalBasisIndex.build(s, [eu, us], "vehicle_health", T0, END)
        at = SALE
        got = decide(index, [(eu, at, "location"), (us, at, "location"), (eu, at, "technical")])
        assert [ok for ok, _ in got] == [False, True, True]
        # Under US legitimate interest the subject may still object.
        withdraw_consent(s, "joe", "vehicle_health", "location", at=WITHDRAWN)
        index = LegalBasisIndex.build(s, [eu, us], "vehicle_health", T0, END)
    ((ok, reason),) = decide(index, [(us, AGAIN, "location")])
    assert not ok and "objection 2026-10-05T12:00:00Z" in reason


def test_no_subject_allows_technical_data_only(migrated_url: str) -> None:
    with session_scope(migrated_url) as s:
        vehicle = add_vehicle(s, 5)
        index = LegalBasisIndex.build(s, [vehicle, "veh_unknown"], "vehicle_health", T0, END)
    got = decide(
        index,
        [
            (vehicle, SALE, "technical"),
            (vehicle, SALE, "location"),
            (vehicle, SALE, "cabin"),
            ("veh_unknown", SALE, "technical"),
            (vehicle, SALE, "dna"),
            (vehicle, END, "technical"),
        ],
    )
    assert got[0] == (True, "")
    assert got[1] == (False, NO_SUBJECT)
    assert got[2] == (False, NO_SUBJECT)
    assert not got[3][0] and "not registered" in got[3][1]
    assert got[4] == (False, "unknown data category 'dna'")
    assert not got[5][0] and "outside the window" in got[5][1]


def reference(
    session: Session, vehicles: dict[str, str], purpose: str, rows: list[tuple[str, int, str]]
) -> list[bool]:
    """The rule of legal_basis.py, one row at a time, straight from the stored facts."""
    policies = load_region_policies()
    links = links_of_vehicles(session, vehicles)
    histories = {link.subject_id: consent_history(session, link.subject_id) for link in links}
    out = []
    for vehicle_id, ts, category in rows:
        if vehicle_id not in vehicles:
            out.append(False)
            continue
        policy = policies[vehicles[vehicle_id]]
        basis = policy.basis_for(purpose, category)
        current = {
            link.subject_id
            for link in links
            if link.vehicle_id == vehicle_id
            and to_us(link.valid_from) <= ts
            and (link.valid_to is None or ts < to_us(link.valid_to))
        }
        if not current:
            out.append(policy.allowed_without_subject(purpose, category))
            continue
        ok = True
        for subject in current:
            latest = None
            for event in histories[subject]:
                if (
                    event.purpose == purpose
                    and event.data_category == category
                    and to_us(event.at) <= ts
                ):
                    latest = event
            if latest is None:
                ok &= basis != "consent"
            elif latest.action == "withdrawn":
                ok &= basis == "legal_obligation"
            else:
                ok &= basis != "consent" or latest.legal_basis == "consent"
        out.append(ok)
    return out


@pytest.mark.parametrize("purpose", ["vehicle_health", "warranty", "marketing"])
def test_vectorised_decision_agrees_with_a_per_row_reference(
    migrated_url: str, purpose: str
) -> None:
    rng = random.Random(20261124 + len(purpose))
    span = int((END - T0).total_seconds())

    def moment() -> datetime:
        return T0 + timedelta(seconds=rng.randrange(span))

    with session_scope(migrated_url) as s:
        vehicles = {}
        for n, (region, market) in enumerate(
            [("eu", "DE"), ("eu", "FR"), ("us", "US"), ("cn", "CN"), ("kr", "KR"), ("ca", "CA")]
        ):
            vehicles[add_vehicle(s, 10 + n, region=region, market=market)] = region
        subjects = [f"s{i}" for i in range(6)]
        for subject in subjects:
            register_subject(s, subject, kind="owner", display_name=subject, region="eu")
        for vehicle in vehicles:
            cuts = sorted(moment() for _ in range(3))
            owners = rng.sample(subjects, 2)
            link_vehicle(s, owners[0], vehicle, "owner", cuts[0], cuts[1])
            link_vehicle(s, owners[1], vehicle, "owner", cuts[2])
            link_vehicle(s, rng.choice(subjects), vehicle, "driver", moment(), None)
        event_times = []
        for _ in range(60):
            at = moment()
            event_times.append(at)
            subject = rng.choice(subjects)
            category = rng.choice(DATA_CATEGORIES)
            if rng.random() < 0.6:
                basis = rng.choice(["consent", "consent", "contract", "legitimate_interest"])
                give_consent(
                    s, subject, purpose, category, notice_version="v1", legal_basis=basis, at=at
                )
            else:
                withdraw_consent(s, subject, purpose, category, at=at)
        index = LegalBasisIndex.build(s, [*vehicles, "veh_ghost"], purpose, T0, END)
        ids = [*vehicles, "veh_ghost"]
        rows = []
        for _ in range(3000):
            ts = (
                to_us(rng.choice(event_times)) + rng.choice([-1, 0, 1])
                if rng.random() < 0.3
                else to_us(moment())
            )
            rows.append((rng.choice(ids), ts, rng.choice(DATA_CATEGORIES)))
        expected = reference(s, vehicles, purpose, rows)
    mask, reasons = index.allowed(
        np.array([r[0] for r in rows], dtype=object),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.array([r[2] for r in rows], dtype=object),
    )
    assert mask.tolist() == expected
    assert all(r for r in reasons[~mask]) and not any(reasons[mask])
    assert 0 < sum(expected) < len(expected)


def test_a_million_rows_are_decided_in_well_under_a_second(migrated_url: str) -> None:
    with session_scope(migrated_url) as s:
        vehicles = [add_vehicle(s, 100 + n, region=("eu", "us")[n % 2]) for n in range(50)]
        for n, vehicle in enumerate(vehicles):
            register_subject(s, f"p{n}", kind="owner", display_name=f"P{n}", region="eu")
            link_vehicle(s, f"p{n}", vehicle, "owner", T0)
            give_consent(s, f"p{n}", "vehicle_health", "location", notice_version="v1", at=T0)
            withdraw_consent(s, f"p{n}", "vehicle_health", "location", at=WITHDRAWN)
        index = LegalBasisIndex.build(s, vehicles, "vehicle_health", T0, END)
    n = 1_000_000
    gen = np.random.default_rng(7)
    column = np.array(vehicles, dtype=object)[gen.integers(0, len(vehicles), n)]
    category = np.array(DATA_CATEGORIES, dtype=object)[gen.integers(0, len(DATA_CATEGORIES), n)]
    ts = gen.integers(to_us(T0), to_us(END), n, dtype=np.int64)
    started = time.perf_counter()
    mask, reasons = index.allowed(column, ts, category)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{elapsed:.2f} s for {n} rows"
    location = category == "location"
    eu = np.isin(column, vehicles[0::2])
    assert not mask[location & eu & (ts >= to_us(WITHDRAWN))].any()
    assert mask[location & eu & (ts < to_us(WITHDRAWN))].all()
    assert mask[category == "technical"].all()
    assert len(reasons) == n

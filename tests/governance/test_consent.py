"""Data subjects, vehicle links and the append-only consent history, on both dialects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from drivetrain.errors import InputError, IntegrityError, NotFound
from drivetrain.fleet import VehicleRecord, make_vin, register_vehicles
from drivetrain.governance.consent import (
    ConsentState,
    consent_history,
    consent_receipt,
    consent_state,
    give_consent,
    withdraw_consent,
)
from drivetrain.governance.subjects import link_vehicle, register_subject, subjects_of
from drivetrain.state import session_scope
from drivetrain.state.governance_models import ConsentEventRow

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 6, 1, tzinfo=UTC)
T2 = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
T3 = datetime(2027, 1, 1, tzinfo=UTC)


def add_vehicle(session: Session, n: int, region: str = "eu", market: str = "DE") -> str:
    vehicle_id = f"veh_{n:012d}"
    register_vehicles(
        session,
        [
            VehicleRecord(
                vehicle_id=vehicle_id,
                vin=make_vin("WVW", "AB12C", 2024, "K", f"{n:06d}"),
                brand="Volkswagen",
                model_id="vw-golf",
                model_name="Golf",
                model_year=2024,
                platform="MQB",
                market=market,
                region=region,
                powertrain="ice",
            )
        ],
    )
    return vehicle_id


def test_overlapping_owner_periods_are_refused_naming_both(migrated_url: str) -> None:
    with session_scope(migrated_url) as s:
        vehicle = add_vehicle(s, 1)
        register_subject(s, "alice", kind="owner", display_name="Alice", region="eu")
        register_subject(s, "bob", kind="owner", display_name="Bob", region="eu")
        link_vehicle(s, "alice", vehicle, "owner", T0, T2)
        with pytest.raises(InputError) as caught:
            link_vehicle(s, "bob", vehicle, "owner", T1)
        message = str(caught.value)
        assert "2026-06-01T00:00:00Z, open" in message
        assert "2026-01-01T00:00:00Z, 2026-10-05T12:00:00Z" in message
        assert "alice" in message and "bob" in message
        # Drivers may overlap owners; an owner from the end of the last period is fine.
        link_vehicle(s, "bob", vehicle, "driver", T1)
        link_vehicle(s, "bob", vehicle, "owner", T2)
        assert [(x.subject_id, x.role) for x in subjects_of(s, vehicle, T1)] == [
            ("alice", "owner"),
            ("bob", "driver"),
        ]
        assert [(x.subject_id, x.role) for x in subjects_of(s, vehicle, T3)] == [
            ("bob", "owner"),
            ("bob", "driver"),
        ]


def test_unknown_subject_purpose_category_and_vehicle_get_clear_errors(migrated_url: str) -> None:
    with session_scope(migrated_url) as s:
        vehicle = add_vehicle(s, 2)
        register_subject(s, "alice", kind="owner", display_name="Alice", region="eu")
        with pytest.raises(NotFound, match="'nobody'") as caught:
            give_consent(s, "nobody", "vehicle_health", "location", notice_version="v1")
        assert caught.value.hint and "subject add" in caught.value.hint
        with pytest.raises(InputError, match="unknown purpose 'spying'") as bad:
            give_consent(s, "alice", "spying", "location", notice_version="v1")
        assert bad.value.hint and "vehicle_health" in bad.value.hint
        with pytest.raises(InputError, match="unknown data category 'dna'"):
            give_consent(s, "alice", "vehicle_health", ["location", "dna"], notice_version="v1")
        with pytest.raises(InputError, match="unknown legal basis"):
            give_consent(s, "alice", "warranty", "technical", notice_version="v1", legal_basis="x")
        with pytest.raises(NotFound, match="veh_nope"):
            link_vehicle(s, "alice", "veh_nope", "owner", T0)
        with pytest.raises(InputError, match="unknown role"):
            link_vehicle(s, "alice", vehicle, "passenger", T0)
        with pytest.raises(InputError, match="already registered"):
            register_subject(s, "alice", kind="owner", display_name="A", region="eu")
        with pytest.raises(InputError, match="unknown region"):
            register_subject(s, "zoe", kind="owner", display_name="Zoe", region="mars")
        with pytest.raises(InputError, match="no time zone"):
            link_vehicle(s, "alice", vehicle, "owner", datetime(2026, 1, 1))
        assert consent_history(s, "alice") == []


def test_history_is_append_only_and_state_follows_it(migrated_url: str) -> None:
    with session_scope(migrated_url) as s:
        register_subject(s, "alice", kind="owner", display_name="Alice", region="eu")
        give_consent(
            s, "alice", "vehicle_health", ["location", "technical"], notice_version="v1", at=T0
        )
        withdraw_consent(s, "alice", "vehicle_health", "location", at=T2)
        give_consent(s, "alice", "vehicle_health", "location", notice_version="v2", at=T3)
    with session_scope(migrated_url) as s:
        history = consent_history(s, "alice")
        assert [(e.data_category, e.action, e.at) for e in history] == [
            ("location", "given", T0),
            ("technical", "given", T0),
            ("location", "withdrawn", T2),
            ("location", "given", T3),
        ]
        assert history[2].notice_version == "v1"  # a withdrawal keeps the notice it ends
        assert history[2].legal_basis == "consent"

        def state(at: datetime) -> ConsentState:
            return consent_state(s, "alice", "vehicle_health", "location", at)

        assert not state(datetime(2025, 1, 1, tzinfo=UTC)).active
        assert state(T1).active
        assert not state(T2).active  # withdrawal takes effect at its own instant
        assert state(T3).active
        assert state(T3).last_event is not None and state(T3).last_event.notice_version == "v2"

        row = s.scalars(select(ConsentEventRow).limit(1)).one()
        row.action = "withdrawn"
        with pytest.raises(IntegrityError, match="append-only"):
            s.flush()
        s.rollback()


def test_receipt_follows_the_kantara_structure(migrated_url: str) -> None:
    with session_scope(migrated_url) as s:
        register_subject(s, "alice", kind="owner", display_name="Alice", region="eu")
        give_consent(
            s, "alice", "vehicle_health", ["location", "technical"], notice_version="v1", at=T0
        )
        give_consent(
            s, "alice", "warranty", "technical", notice_version="v1", legal_basis="contract", at=T0
        )
        give_consent(s, "alice", "marketing", "identity", notice_version="v1", at=T0)
        withdraw_consent(s, "alice", "marketing", "identity", at=T1)
        receipt = consent_receipt(
            s, "alice", controller={"piiController": "Volkswagen AG", "contact": "dpo@vw.example"}
        )
    for field in (
        "version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID",
        "piiPrincipalId", "piiControllers", "policyUrl", "services", "sensitive", "spiCat",
    ):  # fmt: skip
        assert field in receipt, field
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["jurisdiction"] == "EU"
    assert receipt["piiPrincipalId"] == "alice"
    assert receipt["consentTimestamp"] == int(T1.timestamp())
    assert receipt["piiControllers"][0]["piiController"] == "Volkswagen AG"
    services = {svc["service"]: svc["purposes"] for svc in receipt["services"]}
    assert set(services) == {"vehicle_health", "warranty"}  # marketing was withdrawn
    (health,) = services["vehicle_health"]
    assert health["consentType"] == "EXPLICIT"
    assert health["piiCategory"] == ["location", "technical"]
    assert health["purposeCategory"] == ["vehicle_health"]
    for key in ("primaryPurpose", "termination", "thirdPartyDisclosure"):
        assert key in health
    assert services["warranty"][0]["consentType"] == "CONTRACT"
    assert receipt["sensitive"] is True
    assert receipt["spiCat"] == ["location"]

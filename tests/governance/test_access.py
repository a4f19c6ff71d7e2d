"""Access control: principals, the casbin policy and its decisions."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from drivetrain.errors import InputError, PolicyDenied
from drivetrain.fleet import VehicleRecord
from drivetrain.governance.access import (
    AccessContext,
    AccessEnforcer,
    VehicleScope,
    default_policy_path,
)
from drivetrain.governance.principals import Principal, load_principals


def vehicle(vehicle_id: str, brand: str, region: str, market: str = "DE") -> VehicleRecord:
    return VehicleRecord(
        vehicle_id=vehicle_id,
        vin="ZFA00000000000000",
        brand=brand,
        model_id="fiat-tipo",
        model_name="Tipo",
        model_year=2024,
        platform="small",
        market=market,
        region=region,
        powertrain="ice",
    )


ANALYST = Principal.of(
    "alice", roles=["fleet_analyst"], brands=["Fiat"], regions=["eu", "cn"], country="DE"
)
CN_ANALYST = Principal.of(
    "li", roles=["fleet_analyst"], brands=["Fiat"], regions=["cn"], country="CN"
)
DPO = Principal.of(
    "dora", roles=["data_protection_officer"], brands=["*"], regions=["*"], country="FR"
)
CN_DPO = Principal.of(
    "wang", roles=["data_protection_officer"], brands=["*"], regions=["*"], country="CN"
)


@pytest.fixture(scope="module")
def enforcer() -> AccessEnforcer:
    return AccessEnforcer([ANALYST, CN_ANALYST, DPO, CN_DPO])


def test_brand_domain(enforcer: AccessEnforcer) -> None:
    ctx = AccessContext(ANALYST, "vehicle_health")
    assert enforcer.decide(ctx, "read", "telemetry", VehicleScope("Fiat", "eu")).allowed
    # brands compare without regard to case, as people write them
    assert enforcer.decide(ctx, "read", "telemetry", VehicleScope("FIAT", "eu")).allowed
    with pytest.raises(PolicyDenied, match=r"alice.*Peugeot.*no rule grants.*scoped to brand"):
        enforcer.check(ctx, "read", "telemetry", vehicle("v9", "Peugeot", "eu"))


def test_granting_rule_is_named(enforcer: AccessEnforcer) -> None:
    decision = enforcer.check(
        AccessContext(ANALYST, "warranty"), "read", "dtc_events", VehicleScope("Fiat", "eu")
    )
    assert decision.rule is not None
    assert decision.rule.name == "fleet_analyst_warranty_dtc"


def test_purpose_matters(enforcer: AccessEnforcer) -> None:
    fiat_eu = vehicle("v1", "Fiat", "eu")
    enforcer.check(AccessContext(ANALYST, "vehicle_health"), "read", "telemetry", fiat_eu)
    with pytest.raises(PolicyDenied) as denied:
        enforcer.check(AccessContext(ANALYST, "marketing"), "read", "telemetry", fiat_eu)
    message = str(denied.value)
    assert "'alice' may not read telemetry of vehicle v1" in message
    assert "no rule grants role(s) fleet_analyst read on telemetry for purpose marketing" in message


def test_cn_residency_names_the_rule(enforcer: AccessEnforcer) -> None:
    fiat_cn = vehicle("v2", "Fiat", "cn", market="CN")
    # in scope (region cn, brand Fiat), but outside China: PIPL residency refuses
    with pytest.raises(PolicyDenied, match=r"denied by rule pipl_residency \(p, \*"):
        enforcer.check(AccessContext(ANALYST, "vehicle_health"), "read", "telemetry", fiat_cn)
    # even the data-protection officer, if not in China
    with pytest.raises(PolicyDenied, match="pipl_residency"):
        enforcer.check(AccessContext(DPO, "legal_obligation"), "read", "telemetry", fiat_cn)
    enforcer.check(AccessContext(CN_ANALYST, "vehicle_health"), "read", "telemetry", fiat_cn)
    enforcer.check(AccessContext(CN_DPO, "legal_obligation"), "read", "trips", fiat_cn)


def test_region_scope(enforcer: AccessEnforcer) -> None:
    with pytest.raises(PolicyDenied, match="region_scope"):
        enforcer.check(
            AccessContext(CN_ANALYST, "vehicle_health"),
            "read",
            "telemetry",
            VehicleScope("Fiat", "eu"),
        )


def test_dpo_only_for_legal_obligation(enforcer: AccessEnforcer) -> None:
    fiat_eu = VehicleScope("Fiat", "eu")
    enforcer.check(AccessContext(DPO, "legal_obligation"), "read", "sim_faults", fiat_eu)
    with pytest.raises(PolicyDenied, match="no rule grants"):
        enforcer.check(AccessContext(DPO, "marketing"), "read", "telemetry", fiat_eu)
    with pytest.raises(PolicyDenied, match="may not write"):
        enforcer.check(AccessContext(DPO, "legal_obligation"), "write", "telemetry", fiat_eu)


def test_ingest_service_writes() -> None:
    ingest = Principal.of(
        "service:ingest",
        kind="service",
        roles=["ingest_service"],
        brands=["*"],
        regions=["eu", "us"],
        country="IE",
    )
    enforcer = AccessEnforcer()
    ctx = AccessContext(ingest, "vehicle_health")
    enforcer.check(ctx, "write", "telemetry", VehicleScope("Fiat", "eu"))
    with pytest.raises(PolicyDenied, match="no rule grants"):
        enforcer.check(ctx, "read", "telemetry", VehicleScope("Fiat", "eu"))


def test_parts_planners_read_the_parts_tables_for_parts_planning() -> None:
    planner = Principal.of(
        "pat", roles=["parts_planner"], brands=["*"], regions=["eu"], country="DE"
    )
    enforcer = AccessEnforcer([planner, ANALYST])
    for principal in (planner, ANALYST):
        ctx = AccessContext(principal, "parts_planning")
        for table in ("parts", "parts_locations", "parts_demand", "parts_fleet_signal"):
            assert enforcer.decide(ctx, "read", table, None).allowed
    with pytest.raises(PolicyDenied, match="no rule grants"):
        enforcer.check(AccessContext(planner, "warranty"), "read", "parts_demand", None)
    with pytest.raises(PolicyDenied, match="no rule grants"):
        enforcer.check(
            AccessContext(planner, "parts_planning"),
            "read",
            "telemetry",
            VehicleScope("Fiat", "eu"),
        )


def test_unknown_purpose_and_role() -> None:
    with pytest.raises(InputError, match="unknown purpose 'spying'"):
        AccessContext(ANALYST, "spying")
    ghost = Principal.of("ghost", roles=["overlord"], brands=["*"], regions=["*"], country="DE")
    with pytest.raises(InputError, match=r"'ghost' has role.*overlord"):
        AccessEnforcer([ghost])


def test_permitted_vehicles_is_vectorised_and_fast(enforcer: AccessEnforcer) -> None:
    brands = ["Fiat", "Peugeot", "Alfa Romeo", "Ram", "Chrysler"]
    regions = ["eu", "us", "cn", "kr", "ca"]
    fleet = [vehicle(f"v{i:05d}", brands[i % 5], regions[(i // 5) % 5]) for i in range(10_000)]
    ctx = AccessContext(ANALYST, "vehicle_health")
    started = time.perf_counter()
    permitted = AccessEnforcer([ANALYST]).permitted_vehicles(ctx, "telemetry", fleet)
    elapsed = time.perf_counter() - started
    expected = {v.vehicle_id for v in fleet if v.brand == "Fiat" and v.region == "eu"}
    assert permitted == expected
    assert len(permitted) == 400
    assert elapsed < 0.5


# -- principals file -----------------------------------------------------------


def test_load_principals_toml(tmp_path: Path) -> None:
    path = tmp_path / "principals.toml"
    path.write_text(
        '[[principal]]\nid = "alice"\nroles = ["fleet_analyst"]\n'
        'brands = ["Fiat"]\nregions = ["eu"]\ncountry = "DE"\n\n'
        '[[principal]]\nid = "service:ingest"\nkind = "service"\nroles = ["ingest_service"]\n'
        'brands = ["*"]\nregions = ["*"]\ncountry = "IE"\n'
    )
    principals = load_principals(path)
    assert principals["alice"] == Principal.of(
        "alice", roles=["fleet_analyst"], brands=["Fiat"], regions=["eu"], country="DE"
    )
    assert principals["service:ingest"].kind == "service"


def test_principal_without_attributes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "principals.json"
    path.write_text(json.dumps({"principal": [{"id": "bob", "roles": ["fleet_analyst"]}]}))
    with pytest.raises(InputError, match=r"principal 'bob' has no brands, regions, country"):
        load_principals(path)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"regions": ["mars"]}, "unknown region"),
        ({"country": "Germany"}, "country 'Germany'"),
        ({"kind": "robot"}, "kind 'robot'"),
        ({"roles": []}, "no roles"),
        ({"colour": "red"}, "unknown field"),
    ],
)
def test_bad_principal(tmp_path: Path, fields: dict[str, object], error: str) -> None:
    entry = {
        "id": "carol",
        "roles": ["fleet_analyst"],
        "brands": ["Fiat"],
        "regions": ["eu"],
        "country": "DE",
    } | fields
    path = tmp_path / "principals.json"
    path.write_text(json.dumps({"principal": [entry]}))
    with pytest.raises(InputError, match=error):
        load_principals(path)


# -- policy file -----------------------------------------------------------------


def _policy(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "policy.csv"
    path.write_text(default_policy_path().read_text() + extra)
    return path


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("p, fleet_analyst, *, claims_x, read, warranty, True, allow, x1", "unknown table"),
        ("p, fleet_analyst, *, trips, read, spying, True, allow, x2", "unknown purpose"),
        ("p, fleet_analyst, *, trips, read, warranty, True, maybe, x3", "allow or deny"),
        ("p, fleet_analyst, *, trips, read, warranty, True, allow, region_scope", "used twice"),
        ("p, *, *, *, *, *, True, deny, pipl_residency", "derived from the residency"),
        ("p, fleet_analyst, *, trips, read, warranty, allow, x4", "expected 8 fields"),
        ("g, alice, fleet_analyst, *", "only 'p' rules"),
        ("p, fleet_analyst, *, trips, read, warranty, r.nope ==, allow, x5", "rule x5"),
    ],
)
def test_bad_policy_names_the_line(tmp_path: Path, line: str, error: str) -> None:
    path = _policy(tmp_path, line + "\n")
    with pytest.raises(InputError, match=error) as refused:
        AccessEnforcer(policy_path=path)
    if "rule x5" not in error:
        assert "line" in str(refused.value)


def test_residency_is_stated_once_in_the_region_policy() -> None:
    """The deny rule comes from cn.toml's [residency]; the policy file does not repeat it."""
    from drivetrain.governance.policies import region_policy

    cn = region_policy("cn")
    assert cn.readable_from == {"CN"} and cn.residency_rule == "pipl_residency"
    lines = default_policy_path().read_text().splitlines()
    assert not [line for line in lines if "residency" in line and not line.startswith("#")]
    (rule,) = [r for r in AccessEnforcer().rules if r.name == "pipl_residency"]
    assert rule.effect == "deny" and 'in_scope(r.sub_country, "CN")' in rule.condition
    # every region with a residency constraint gets exactly one such rule
    derived = [r for r in AccessEnforcer().rules if r.name.endswith("_residency")]
    assert len(derived) == sum(
        1 for r in ("eu", "us", "cn", "kr", "ca") if region_policy(r).readable_from
    )


def test_user_policy_file(tmp_path: Path) -> None:
    path = _policy(
        tmp_path, "p, fleet_analyst, Fiat, telemetry, read, marketing, True, allow, fiat_mkt\n"
    )
    enforcer = AccessEnforcer(policy_path=path)
    ctx = AccessContext(ANALYST, "marketing")
    assert enforcer.check(ctx, "read", "telemetry", VehicleScope("Fiat", "eu")).rule is not None

"""Re-identification goes through the access policy and the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.errors import NotFound, PolicyDenied
from drivetrain.fleet import get_vehicle
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import Principal
from drivetrain.governance.reidentify import reidentify
from drivetrain.state import migrate, session_scope

from .test_consent import add_vehicle

WENDY = Principal.of(
    "wendy", roles=["warranty_engineer"], brands=["Volkswagen"], regions=["eu"], country="DE"
)
FIONA = Principal.of("fiona", roles=["fleet_analyst"], brands=["*"], regions=["*"], country="DE")


def test_a_warranty_engineer_may_reidentify_for_warranty_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    migrate(url)
    audit = AuditLog(tmp_path)
    with session_scope(url) as s:
        vehicle = add_vehicle(s, 1)
        expected = get_vehicle(s, vehicle).vin
        assert reidentify(s, vehicle, AccessContext(WENDY, "warranty"), audit=audit) == expected
        with pytest.raises(PolicyDenied, match="vehicle_identity"):
            reidentify(s, vehicle, AccessContext(WENDY, "marketing"), audit=audit)
        with pytest.raises(PolicyDenied, match="no rule grants"):
            reidentify(s, vehicle, AccessContext(FIONA, "warranty"), audit=audit)
        with pytest.raises(NotFound):
            reidentify(s, "veh_unknown", AccessContext(WENDY, "warranty"), audit=audit)
        cn = add_vehicle(s, 2, region="cn", market="CN")
        with pytest.raises(PolicyDenied, match="pipl_residency"):
            reidentify(s, cn, AccessContext(WENDY, "warranty"), audit=audit)
    kinds = [(e.kind, e.principal, e.details.get("rule")) for e in audit.entries()]
    assert kinds[0] == ("reidentification", "wendy", "warranty_engineer_recall")
    assert [k for k, _, _ in kinds] == ["reidentification", "denial", "denial", "denial"]
    audit.verify()


def test_cli_reidentify(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    migrate(url)
    with session_scope(url) as s:
        vehicle = add_vehicle(s, 3)
        vin = get_vehicle(s, vehicle).vin
    (tmp_path / "principals.toml").write_text(
        '[[principal]]\nid = "wendy"\nroles = ["warranty_engineer"]\nbrands = ["*"]\n'
        'regions = ["eu"]\ncountry = "DE"\n'
    )
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path), "governance", "reidentify", vehicle, "--as", "wendy"]
    ok = runner.invoke(app, [*base, "--purpose", "warranty"])
    assert ok.exit_code == 0, ok.stderr
    assert vin in ok.stdout
    refused = runner.invoke(app, [*base, "--purpose", "marketing"])
    assert refused.exit_code == 77 and vin not in refused.stdout + refused.stderr
    unknown = runner.invoke(app, [*base[:-1], "nobody", "--purpose", "warranty"])
    assert unknown.exit_code == 66 and "wendy" in unknown.stderr

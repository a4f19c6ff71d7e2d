"""One demo data directory with telemetry, warranty history and a plant, shared by the tests.

``run_demo`` writes the fleet (telemetry, DTCs, the registry, principals come
from the governance tour's file); the warranty and quality tours' data are
added the way those tours add them — the simulated programs' production and
claims exports imported, then the plant simulated on their vehicles — without
the tours' replays and watches, which the reports do not need (a few seconds
instead of a minute).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest

from drivetrain.demo import SimulationConfig
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.demo.quality_tour import simulate_plant
from drivetrain.demo.run import run_demo
from drivetrain.demo.simulator import end_of
from drivetrain.demo.warranty_generator import WarrantyConfig
from drivetrain.demo.warranty_tour import import_files, simulate_warranty_files
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.lake import Lake
from drivetrain.reports import REPORTS, BuiltReport, build_report, settings_inputs
from drivetrain.settings import Settings, load_settings

CONFIG = SimulationConfig(
    vehicles=30,
    days=10,
    seed=3,
    start=date(2026, 4, 13),
    models=("peugeot-308", "tesla-model-3", "ram-1500"),
)


def context_of(settings: Settings, principal: str, purpose: str) -> AccessContext:
    return AccessContext(principal_named(settings.resolved_principals_file, principal), purpose)


@dataclass
class DemoData:
    """The demo's settings, and each report built once per format as its own principal."""

    settings: Settings
    _built: dict[tuple[str, str], BuiltReport] = field(default_factory=dict)

    def built(self, name: str, fmt: str) -> BuiltReport:
        key = (name, fmt)
        if key not in self._built:
            definition = REPORTS[name]
            context = context_of(self.settings, definition.principal, definition.purpose)
            self._built[key] = build_report(name, settings_inputs(self.settings), context, fmt=fmt)
        return self._built[key]


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    data_dir = tmp_path_factory.mktemp("reports-demo")
    settings, _, _, _ = run_demo(data_dir, CONFIG, load_settings(data_dir=data_dir))
    (data_dir / "principals.toml").write_text(DEMO_PRINCIPALS, encoding="utf-8")
    as_of = (end_of(CONFIG) - timedelta(days=1)).date()
    files = simulate_warranty_files(settings, data_dir / "warranty", WarrantyConfig(as_of=as_of))
    import_files(settings, files)
    keys = PseudonymKey.load_or_create(data_dir)
    audit = AuditLog(data_dir)
    simulate_plant(
        Lake(settings.lake_dir), audit, keys, files.history.production, data_dir / "plant"
    )
    return DemoData(settings)


@pytest.fixture
def empty_settings(tmp_path: Path) -> Settings:
    """A data directory with the demo's principals and nothing in its lake."""
    (tmp_path / "principals.toml").write_text(DEMO_PRINCIPALS, encoding="utf-8")
    return load_settings(data_dir=tmp_path)


def files_under(folder: Path) -> list[Path]:
    """Every file under ``folder`` (temporary ones too), to show nothing was left behind."""
    return sorted(p for p in folder.rglob("*") if p.is_file())

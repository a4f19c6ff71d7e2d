"""Warranty analytics on the lake: governed reads, recorded outputs, life samples."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from drivetrain.demo.warranty_generator import WarrantyConfig, generate_warranty
from drivetrain.errors import NotFound, PolicyDenied
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import Principal
from drivetrain.governance.provenance import explain
from drivetrain.lake import Lake, table_spec
from drivetrain.warranty import (
    fit_component,
    life_sample,
    load_warranty_data,
    warranty_alerts,
)

AS_OF = date(2025, 3, 31)


def _engineer(brands: list[str], roles: tuple[str, ...] = ("warranty_engineer",)) -> AccessContext:
    principal = Principal.of(
        "wendy", roles=roles, brands=brands, regions=["eu", "us", "ca", "kr", "cn"], country="DE"
    )
    return AccessContext(principal, "warranty")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    history = generate_warranty(
        WarrantyConfig(
            seed=9, per_model_month=120, models=("fiat-tipo", "hyundai-i30"), as_of=AS_OF
        )
    )
    lake = Lake(tmp_path_factory.mktemp("warranty") / "lake")
    production = history.production.with_columns(pl.lit("test").alias("source"))
    claims = history.claims.with_columns(
        pl.lit("test").alias("source"),
        pl.lit(1).cast(pl.Int32).alias("months_in_service"),
    )
    for name, frame in (("vehicle_production", production), ("warranty_claims", claims)):
        schema = table_spec(name).input_schema
        lake.append(name, frame.select(schema.names).to_arrow().cast(schema))
    return lake


def test_a_brand_scoped_engineer_reads_only_that_brand(lake: Lake, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    everything = load_warranty_data(lake, _engineer(["*"]), audit=audit)
    fiat = load_warranty_data(lake, _engineer(["Fiat"]), audit=audit)
    assert set(everything.production["brand"]) == {"Fiat", "Hyundai"}
    assert set(fiat.production["brand"]) == {"Fiat"}
    fiat_ids = set(fiat.production["vehicle_id"])
    assert set(fiat.claims["vehicle_id"]) <= fiat_ids
    expected = everything.claims.filter(pl.col("vehicle_id").is_in(list(fiat_ids))).height
    assert fiat.claims.height == expected > 0
    reads = [e for e in audit.entries(kind="access") if e.principal == "wendy"]
    assert {e.details["table"] for e in reads} >= {"vehicle_production", "warranty_claims"}


def test_a_role_without_a_warranty_grant_is_refused(lake: Lake, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    with pytest.raises(PolicyDenied):
        load_warranty_data(lake, _engineer(["*"], roles=("product_engineer",)), audit=audit)
    assert audit.entries(kind="denial")


def test_alerts_and_fits_are_recorded_and_explained(lake: Lake, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    context = _engineer(["*"])
    data = load_warranty_data(lake, context, audit=audit)
    alerts = warranty_alerts(data, context, AS_OF, audit=audit)
    thermostat = next(a for a in alerts if a.issue.causal_part == "thermostat")
    assert thermostat.output_id is not None
    record = explain(audit, thermostat.output_id)
    assert record.output_kind == "warranty_alert"
    assert record.params["model_id"] == "fiat-tipo"
    assert record.inputs == {
        "vehicle_production": lake.version("vehicle_production"),
        "warranty_claims": lake.version("warranty_claims"),
    }
    assert len(record.sources) == min(thermostat.claims, 100)
    sample = life_sample(
        data, "thermostat", AS_OF, model_id="fiat-tipo", build_from="2024-02", build_to="2024-04"
    )
    fits, fit_id = fit_component(sample, context, data=data, audit=audit)
    assert fit_id is not None and fits[0].failures == len(sample.failures)
    assert explain(audit, fit_id).params["best"] == fits[0].distribution


def test_a_life_sample_counts_first_failures_and_censors_the_rest(lake: Lake) -> None:
    data = load_warranty_data(lake, _engineer(["*"]))
    sample = life_sample(data, "thermostat", AS_OF, model_id="fiat-tipo")
    sold = data.production.filter(
        (pl.col("model_id") == "fiat-tipo") & (pl.col("sale_date") <= AS_OF)
    )
    failed_vehicles = (
        data.claims.filter(pl.col("causal_part") == "thermostat")
        .join(sold, on="vehicle_id", how="semi")["vehicle_id"]
        .n_unique()
    )
    assert len(sample.failures) == failed_vehicles
    assert len(sample.failures) + len(sample.running) == sold.height
    assert max(sample.running) <= 36 * 365.25 / 12
    with pytest.raises(NotFound, match="causal part"):
        life_sample(data, "flux_capacitor", AS_OF)

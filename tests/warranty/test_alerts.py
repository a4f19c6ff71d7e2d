"""Alerts and their evidence: the projection against what the simulated programs really
claimed by the end of warranty, the DTC link, the comments."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from drivetrain.demo.warranty_generator import WarrantyConfig, WarrantyHistory, generate_warranty
from drivetrain.warranty.alerts import WarrantyAlert, build_alerts

MODELS = ("fiat-tipo", "hyundai-i30", "alfa-romeo-giulia")
WINDOW = (date(2024, 2, 1), date(2024, 4, 30))


def _history(seed: int, as_of: date) -> WarrantyHistory:
    return generate_warranty(
        WarrantyConfig(seed=seed, per_model_month=150, models=MODELS, as_of=as_of)
    )


def _thermostat(alerts: list[WarrantyAlert]) -> WarrantyAlert:
    found = [a for a in alerts if a.issue.causal_part == "thermostat"]
    assert found, "no thermostat alert"
    return found[0]


@pytest.mark.parametrize("seed", [5, 6])
def test_projection_to_warranty_end_is_near_what_was_claimed(seed: int) -> None:
    # the same seed with a later analysis date: the same vehicles and failure ages,
    # so its claims of the window are the truth the projection aims at
    late = _history(seed, date(2029, 12, 31))
    window = late.production.filter(
        (pl.col("model_id") == "fiat-tipo") & pl.col("build_date").is_between(*WINDOW)
    )
    truth = (
        late.claims.filter(pl.col("causal_part") == "thermostat")
        .join(window, on="vehicle_id", how="semi")
        .height
    )
    as_of = date(2025, 6, 30)
    now = _history(seed, as_of)
    alert = _thermostat(build_alerts(now.claims, now.production, as_of))
    assert alert.projected_claims is not None and alert.projected_range is not None
    assert alert.projected_claims >= alert.claims
    assert alert.projected_claims == pytest.approx(truth, rel=0.25)
    assert alert.projected_cost == pytest.approx(
        alert.projected_claims * alert.cost_so_far / alert.claims, rel=1e-6
    )


@pytest.fixture(scope="module")
def history() -> WarrantyHistory:
    return _history(5, date(2024, 12, 31))


def test_the_alert_names_its_window_and_vehicles(history: WarrantyHistory) -> None:
    alert = _thermostat(build_alerts(history.claims, history.production, date(2024, 12, 31)))
    assert alert.issue.model_id == "fiat-tipo"
    assert WINDOW[0] <= alert.build_from <= alert.build_to <= WINDOW[1]
    built = history.production.filter(
        (pl.col("model_id") == "fiat-tipo")
        & (pl.col("region") == alert.issue.region)
        & pl.col("build_date").is_between(alert.build_from, alert.build_to)
    )
    assert alert.vehicles_built == built.height
    assert alert.plants == ("Bursa",)
    assert dict(alert.failure_codes) == {"P0128": alert.claims}
    comments = [c for _, c in alert.comments]
    assert len(comments) == len(set(comments)) > 0
    assert all("hermostat" in c or "P0128" in c or "heat" in c for c in comments)
    assert json.loads(json.dumps(alert.to_dict()))["component"] == "thermostat"


def test_trouble_codes_of_connected_vehicles_in_the_window_are_linked(
    history: WarrantyHistory,
) -> None:
    tipo = history.production.filter(pl.col("model_id") == "fiat-tipo")
    inside = tipo.filter(pl.col("build_date").is_between(*WINDOW))["vehicle_id"].head(4)
    outside = tipo.filter(~pl.col("build_date").is_between(*WINDOW))["vehicle_id"].head(4)
    events = pl.DataFrame(
        {
            "vehicle_id": [*inside.head(3), outside[0], outside[1]],
            "dtc": ["P0128", "P0128", "P0128", "P0128", "P0562"],
        }
    )
    anomalies = pl.DataFrame(
        {
            "vehicle_id": [inside[0], inside[1], inside[1], outside[2]],
            "indicator": ["coolant_warmup", "coolant_warmup", "coolant_max", "lv_rest_voltage"],
        }
    )
    alert = _thermostat(
        build_alerts(
            history.claims,
            history.production,
            date(2024, 12, 31),
            dtc_events=events,
            anomalies=anomalies,
            connected={*inside, *outside},
        )
    )
    flagged = {c.code: c for c in alert.linked_anomalies}
    assert flagged["coolant_warmup"].vehicles == 2
    assert flagged["coolant_warmup"].share == pytest.approx(2 / 4)
    assert flagged["coolant_warmup"].reference_share == 0.0
    assert "lv_rest_voltage" not in flagged  # outside the window only
    assert alert.connected_vehicles == 4
    linked = {c.code: c for c in alert.linked_codes}
    assert linked["P0128"].vehicles == 3
    assert linked["P0128"].share == pytest.approx(3 / 4)
    assert linked["P0128"].reference_share == pytest.approx(1 / 4)


def test_no_alert_without_claims(history: WarrantyHistory) -> None:
    assert build_alerts(history.claims.head(0), history.production, date(2024, 12, 31)) == []

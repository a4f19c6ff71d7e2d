"""The simulated parts network: demand driven by the fleet, lumpy where real demand is."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from drivetrain.catalog import load_vehicle_models
from drivetrain.demo.parts_catalog import CABIN_CHAIN
from drivetrain.demo.parts_fleet import RecallCampaign
from drivetrain.demo.parts_generator import (
    PartsConfig,
    PartsNetwork,
    add_months,
    generate_parts_network,
    write_parts_csv,
)
from drivetrain.demo.warranty_generator import WarrantyConfig, WarrantyHistory, generate_warranty
from drivetrain.errors import InputError
from drivetrain.lake import Lake, table_spec

THERMOSTAT = "TH-1004"
CONFIG = PartsConfig()


@pytest.fixture(scope="module")
def history() -> WarrantyHistory:
    return generate_warranty(WarrantyConfig(per_model_month=150))


@pytest.fixture(scope="module")
def network(history: WarrantyHistory) -> PartsNetwork:
    return generate_parts_network(history, CONFIG)


@pytest.fixture(scope="module")
def blind(history: WarrantyHistory) -> PartsNetwork:
    """The same network, but the fleet never learns of the defect."""
    return generate_parts_network(history, dataclasses.replace(CONFIG, defect_known_from=None))


def _dealers(network: PartsNetwork, markets: tuple[str, ...]) -> list[str]:
    frame = network.locations.filter(pl.col("kind") == "dealer", pl.col("market").is_in(markets))
    return frame["location_id"].to_list()


def _monthly(frame: pl.DataFrame, value: str = "quantity") -> np.ndarray:
    return frame.group_by("month").agg(pl.col(value).sum()).sort("month")[value].to_numpy()


def test_same_seed_same_network_and_another_seed_another(
    history: WarrantyHistory, network: PartsNetwork, blind: PartsNetwork
) -> None:
    # what the fleet knows changes the signal only, never what happened
    assert blind.demand.equals(network.demand)
    assert blind.truth.equals(network.truth)
    other = generate_parts_network(history, dataclasses.replace(CONFIG, seed=8))
    assert not other.demand.equals(network.demand)
    assert other.parts.equals(network.parts)


def test_demand_is_a_full_panel_of_whole_non_negative_units(network: PartsNetwork) -> None:
    demand = network.demand
    q = demand["quantity"].to_numpy()
    assert (q >= 0).all() and (q == np.round(q)).all() and (q == 0).any()
    assert demand.select("part_number", "location_id", "month").is_unique().all()
    # no gaps: each series runs month after month
    spans = demand.group_by("part_number", "location_id").agg(
        pl.len().alias("n"), pl.col("month").min().alias("lo"), pl.col("month").max().alias("hi")
    )
    for n, lo, hi in spans.select("n", "lo", "hi").iter_rows():
        assert (hi.year - lo.year) * 12 + hi.month - lo.month + 1 == n
    assert demand["quantity"].sum() == network.truth["quantity"].sum()
    known = set(network.locations["location_id"])
    assert set(demand["location_id"]) <= known
    assert set(demand["part_number"]) <= set(network.parts["part_number"])
    assert network.locations.filter(pl.col("kind") == "dealer")["parent_id"].str.starts_with("RDC-").all()  # fmt: skip


def test_the_tables_are_lake_tables_without_personal_data(
    network: PartsNetwork, tmp_path: Path
) -> None:
    lake = Lake(tmp_path)
    for name, frame in (
        ("parts", network.parts),
        ("parts_locations", network.locations),
        ("parts_demand", network.demand),
    ):
        assert table_spec(name).vehicle_column is None
        lake.append(name, frame.to_arrow())
        assert lake.read(name).num_rows == frame.height
    assert table_spec("parts_demand").key == ("part_number", "location_id", "month")


def test_the_thermostat_wave_shows_at_the_fiat_tipo_dealers(network: PartsNetwork) -> None:
    tipo = load_vehicle_models()["fiat-tipo"].markets
    others = tuple(m for m in set(network.locations["market"]) if m not in tipo)
    months = network.demand["month"].unique().sort()
    wave = (months >= date(2024, 5, 1)) & (months < date(2025, 1, 1))
    calm = (months < date(2024, 3, 1)) | (months >= date(2025, 10, 1))

    def rates(markets: tuple[str, ...]) -> tuple[float, float]:
        frame = network.demand.filter(
            pl.col("part_number") == THERMOSTAT,
            pl.col("location_id").is_in(_dealers(network, markets)),
        )
        y = _monthly(frame)
        return float(y[wave.to_numpy()].mean()), float(y[calm.to_numpy()].mean())

    in_wave, before_and_after = rates(tipo)
    assert in_wave > 3 * before_and_after
    control_wave, control_calm = rates(others)
    assert control_wave < 2 * control_calm
    # the ground truth says why, and only where the lot's vehicles are
    defect = network.truth.filter(pl.col("cause") == "defect")
    assert defect.height and set(defect["part_number"]) == {THERMOSTAT}
    markets = network.locations.filter(
        pl.col("location_id").is_in(defect["location_id"].unique().to_list())
    )
    assert set(markets["market"]) <= set(tipo)


def test_the_fleet_signal_knows_the_defect_only_from_the_alert(
    network: PartsNetwork, blind: PartsNetwork
) -> None:
    known = CONFIG.defect_known_from
    assert known is not None
    signal, unaware = network.fleet_signal, blind.fleet_signal
    before = pl.col("month") < known
    assert signal.filter(before).equals(unaware.filter(before))
    not_thermostat = pl.col("part_number") != THERMOSTAT
    assert signal.filter(not_thermostat).equals(unaware.filter(not_thermostat))
    tipo = _dealers(network, load_vehicle_models()["fiat-tipo"].markets)
    window = (pl.col("month") >= known) & (pl.col("month") < add_months(known, 6))
    at_tipo = (pl.col("part_number") == THERMOSTAT) & pl.col("location_id").is_in(tipo) & window
    aware, naive = signal.filter(at_tipo)["expected"].sum(), unaware.filter(at_tipo)["expected"].sum()  # fmt: skip
    assert aware > 2.5 * naive
    # what it foresees is there in the history (the wave's tail), within Poisson reason
    seen = network.truth.filter(at_tipo)["quantity"].sum()
    assert abs(seen - aware) < 4 * np.sqrt(aware)
    # an expectation, not the draws: fractional, with a variance, and into the future
    assert (signal["expected"] != signal["expected"].round()).mean() > 0.9  # type: ignore[operator]
    assert ((signal["variance"] >= 0) & (signal["variance"] <= 8 * signal["expected"] + 1e-9)).all()  # fmt: skip
    last = network.demand["month"].max()
    assert signal["month"].max() == add_months(last, CONFIG.horizon_months)  # type: ignore[arg-type]
    assert "other" not in set(signal["source"])


def test_the_fleet_signal_tracks_what_the_fleet_drives(network: PartsNetwork) -> None:
    history = pl.col("month") <= network.demand["month"].max()
    expected = network.fleet_signal.filter(history).group_by("source").agg(pl.col("expected").sum())
    realised = network.truth.filter(history).group_by("source").agg(pl.col("quantity").sum())
    both = dict(expected.iter_rows()), dict(realised.iter_rows())
    for source in ("repair", "maintenance", "campaign"):
        assert both[0][source] == pytest.approx(both[1][source], rel=0.1), source
    # counter sales are real demand the fleet does not model
    assert both[1]["other"] > 0


def test_the_campaign_is_a_spike_at_the_dealers_of_the_recalled_model(
    network: PartsNetwork,
) -> None:
    campaign = RecallCampaign()
    markets = load_vehicle_models()[campaign.model_id].markets
    caliper = network.demand.filter(
        pl.col("part_number") == "BRK-CAL-FL",
        pl.col("location_id").is_in(_dealers(network, markets)),
    )
    y = _monthly(caliper)
    months = caliper["month"].unique().sort().to_list()
    at = months.index(campaign.month)
    assert y[at] > 10 * np.median(np.delete(y, range(at, at + 3)))


def test_a_supersession_moves_demand_at_the_switch_without_overlap(
    network: PartsNetwork,
) -> None:
    parts = dict(network.parts.select("part_number", "supersedes").iter_rows())
    assert [parts[p] for p in CABIN_CHAIN] == [None, *CABIN_CHAIN[:-1]]
    months = network.demand["month"].unique().sort().to_list()
    switches = [months[i] for i in CONFIG.supersession_months]
    chain = network.demand.filter(pl.col("part_number").is_in(CABIN_CHAIN))
    edges = [months[0], *switches, add_months(months[-1], 1)]
    for number, lo, hi in zip(CABIN_CHAIN, edges, edges[1:], strict=False):
        rows = chain.filter(pl.col("part_number") == number)
        assert rows["month"].min() == lo and rows["month"].max() == add_months(hi, -1)
    assert chain.select("location_id", "month").is_unique().all()
    total = _monthly(chain)
    signal = _monthly(
        network.fleet_signal.filter(
            pl.col("part_number").is_in(CABIN_CHAIN), pl.col("month") <= months[-1]
        ),
        "expected",
    )
    for switch in CONFIG.supersession_months:
        neighbours = (total[switch - 1] + total[switch + 1]) / 2
        assert total[switch] == pytest.approx(neighbours, rel=0.15)  # no dip, no double count
        assert total[switch] == pytest.approx(signal[switch], rel=0.15)


def _classes(frame: pl.DataFrame, by: list[str]) -> dict[str, int]:
    """Syntetos-Boylan classes (ADI 1.32, CV^2 0.49) of the series with 2+ demands."""
    counts = {"smooth": 0, "erratic": 0, "intermittent": 0, "lumpy": 0}
    for _, series in frame.sort("month").group_by(by):
        y = series["quantity"].to_numpy()
        sizes = y[y > 0]
        if len(sizes) < 2:
            continue
        adi = len(y) / len(sizes)
        cv2 = (sizes.std() / sizes.mean()) ** 2
        kind = ("smooth", "erratic") if adi < 1.32 else ("intermittent", "lumpy")
        counts[kind[int(cv2 >= 0.49)]] += 1
    return counts


def test_dealer_demand_is_intermittent_and_lumpy_and_smoother_when_pooled(
    network: PartsNetwork,
) -> None:
    kinds = network.demand.join(network.locations.select("location_id", "kind"), on="location_id")
    dealers = _classes(kinds.filter(pl.col("kind") == "dealer"), ["part_number", "location_id"])
    assert dealers["intermittent"] >= 20 and dealers["lumpy"] >= 10 and dealers["smooth"] >= 10
    pooled = kinds.group_by("part_number", "month").agg(pl.col("quantity").sum())
    network_wide = _classes(pooled, ["part_number"])
    share = {
        name: counts["smooth"] / sum(counts.values())
        for name, counts in (("dealer", dealers), ("network", network_wide))
    }
    assert network_wide["smooth"] >= 15
    assert share["network"] > share["dealer"] + 0.3


def test_the_erp_export_round_trips(network: PartsNetwork, tmp_path: Path) -> None:
    paths = write_parts_csv(network, tmp_path / "erp")
    assert sorted(paths) == ["demand", "fitment", "locations", "parts"]
    fitment = pl.read_csv(paths["fitment"])
    assert fitment.equals(network.fitment)
    # every model has one 12 V battery and one set of front pads (vehicle health's items)
    per_model = fitment.group_by("model_id").agg(pl.col("service_item").sort())
    assert set(map(tuple, per_model["service_item"].to_list())) == {("brake_pads_front", "lv_battery")}
    demand = pl.read_csv(paths["demand"], try_parse_dates=True)
    assert demand.columns == ["part_number", "location_id", "month", "quantity"]
    assert demand.equals(network.demand.drop("source"))
    parts = pl.read_csv(paths["parts"])
    assert parts.filter(pl.col("supersedes").is_not_null()).height == len(CABIN_CHAIN) - 1


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"months": 0}, "months must be positive"),
        ({"dealers_per_market": 0}, "dealers_per_market"),
        ({"first_month": date(2024, 1, 15)}, "not the first day"),
        ({"counter_sales": -1.0}, "counter_sales"),
        ({"supersession_months": (26, 14)}, "supersession_months"),
        ({"supersession_months": (14, 40)}, "supersession_months"),
        ({"campaign": RecallCampaign(component="sunroof")}, "unknown component 'sunroof'"),
        ({"campaign": RecallCampaign(take_up=(0.8, 0.5))}, "take_up"),
    ],
)
def test_bad_configs_are_refused(change: dict[str, object], error: str) -> None:
    with pytest.raises(InputError, match=error):
        dataclasses.replace(CONFIG, **change).validate()  # type: ignore[arg-type]


def test_a_population_frame_needs_a_first_month(history: WarrantyHistory) -> None:
    with pytest.raises(InputError, match="first_month"):
        generate_parts_network(history.production, CONFIG)


def test_signal_vintages_know_the_defect_and_the_recall_only_once_they_are_known(
    network: PartsNetwork, blind: PartsNetwork
) -> None:
    vintages = network.vintages
    campaign = RecallCampaign()
    first = network.demand["month"].min()
    announced = add_months(campaign.month, -CONFIG.campaign_notice_months)
    assert sorted(set(vintages["issued"])) == [first, CONFIG.defect_known_from, announced]
    assert table_spec("parts_fleet_signal").input_schema.names == vintages.columns

    def issued(day: object) -> pl.DataFrame:
        return vintages.filter(pl.col("issued") == day).drop("issued")

    keys = ["part_number", "location_id", "month", "source"]
    # the newest vintage knows everything the network's signal knows
    latest = issued(announced).sort(keys)
    assert latest.equals(network.fleet_signal.select(latest.columns).sort(keys))
    # before the alert: the thermostat is what the blind fleet foresees, and no recall yet
    early = issued(first)
    thermostat = pl.col("part_number") == THERMOSTAT
    assert (
        early.filter(thermostat)
        .sort(keys)
        .equals(blind.fleet_signal.filter(thermostat).select(early.columns).sort(keys))
    )
    assert "campaign" not in set(early["source"])
    assert "campaign" not in set(issued(CONFIG.defect_known_from)["source"])
    assert latest.filter(pl.col("source") == "campaign")["expected"].sum() > 100
    # parts neither the defect nor the recall touch are the same in every vintage
    other = ~pl.col("part_number").is_in([THERMOSTAT, "BRK-CAL-FL"])
    assert early.filter(other).sort(keys).equals(latest.filter(other).sort(keys))

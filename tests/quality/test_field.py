"""A supplier lot judged by the field: vehicles built with it, vehicles that claimed, vs. the rest."""

from __future__ import annotations

import polars as pl
import pytest
from statsmodels.stats.proportion import proportion_confint

from drivetrain.errors import InputError
from drivetrain.quality.field import lot_field_rates

# part TH: lot L1 in v1-v4, L2 in v5-v10, L3 in v11-v12; part WP (another part) in v1-v3
GENEALOGY = pl.DataFrame(
    {
        "vehicle_id": [f"v{i}" for i in range(1, 13)] + ["v1", "v2", "v3"],
        "part_number": ["TH"] * 12 + ["WP"] * 3,
        "lot_id": ["L1"] * 4 + ["L2"] * 6 + ["L3"] * 2 + ["W1"] * 3,
    }
)
# v1 claimed TH twice (a repeat repair), v2 and v5 once; v13 is not in the genealogy;
# v3 and v6 claimed the other part only
CLAIMS = pl.DataFrame(
    {
        "vehicle_id": ["v1", "v1", "v2", "v5", "v13", "v3", "v6"],
        "part_number": ["TH", "TH", "TH", "TH", "TH", "WP", "WP"],
    }
)


def _by_lot(frame: pl.DataFrame) -> dict[str, dict[str, object]]:
    return {r["lot_id"]: r for r in frame.iter_rows(named=True)}


def test_rates_per_thousand_counted_by_hand() -> None:
    rates = lot_field_rates(GENEALOGY, CLAIMS, part_number="TH")
    assert rates["lot_id"].to_list() == ["L1", "L2", "L3"]  # worst first
    lots = _by_lot(rates)
    # L1: v1 (twice) and v2 of 4 vehicles; the others 8 vehicles, v5 claimed
    assert (lots["L1"]["vehicles"], lots["L1"]["claimed"]) == (4, 2)
    assert lots["L1"]["per_thousand"] == pytest.approx(500.0)
    assert lots["L1"]["others_per_thousand"] == pytest.approx(125.0)
    assert lots["L1"]["rate_ratio"] == pytest.approx(4.0)
    # L2: v5 of 6; the others 6 vehicles (L1 and L3), 2 claimed
    assert (lots["L2"]["vehicles"], lots["L2"]["claimed"]) == (6, 1)
    assert lots["L2"]["per_thousand"] == pytest.approx(1000 / 6)
    assert lots["L2"]["others_per_thousand"] == pytest.approx(1000 / 3)
    assert lots["L2"]["rate_ratio"] == pytest.approx(0.5)
    # L3: no claim of 2; the others 10 vehicles, 3 claimed
    assert (lots["L3"]["vehicles"], lots["L3"]["claimed"]) == (2, 0)
    assert lots["L3"]["per_thousand"] == 0.0
    assert lots["L3"]["others_per_thousand"] == pytest.approx(300.0)
    assert lots["L3"]["rate_ratio"] == 0.0
    assert "W1" not in lots  # another part's lot is not this part's


def test_repeat_claims_of_one_vehicle_count_once() -> None:
    once = lot_field_rates(GENEALOGY, CLAIMS.unique(), part_number="TH")
    repeated = pl.concat([CLAIMS, CLAIMS, CLAIMS.filter(pl.col("vehicle_id") == "v1")])
    again = lot_field_rates(GENEALOGY, repeated, part_number="TH")
    assert again.equals(once)
    assert _by_lot(again)["L1"]["claimed"] == 2


def test_the_others_rate_excludes_the_lot() -> None:
    rates = lot_field_rates(GENEALOGY, CLAIMS, part_number="TH")
    vehicles, claimed = rates["vehicles"].sum(), rates["claimed"].sum()
    assert (vehicles, claimed) == (12, 3)
    for r in rates.iter_rows(named=True):
        others = (claimed - r["claimed"]) / (vehicles - r["vehicles"])
        assert r["others_per_thousand"] == pytest.approx(1000 * others)
    # a claim in L3 raises L3's rate and the others' rate of L1 and L2, but not L3's own
    more = pl.concat([CLAIMS, pl.DataFrame({"vehicle_id": ["v11"], "part_number": ["TH"]})])
    after = _by_lot(lot_field_rates(GENEALOGY, more, part_number="TH"))
    before = _by_lot(rates)
    assert after["L3"]["others_per_thousand"] == before["L3"]["others_per_thousand"]
    assert after["L3"]["per_thousand"] == pytest.approx(500.0)
    for lot in ("L1", "L2"):
        assert after[lot]["others_per_thousand"] > before[lot]["others_per_thousand"]
        assert after[lot]["per_thousand"] == before[lot]["per_thousand"]


@pytest.mark.parametrize("level", [0.95, 0.90, 0.99])
def test_the_interval_is_clopper_pearson(level: float) -> None:
    # counts with no claim and with every vehicle claimed, where the bound is 0 or 1 exactly
    genealogy = pl.DataFrame(
        {
            "vehicle_id": [f"v{i}" for i in range(40)],
            "part_number": "TH",
            "lot_id": ["A"] * 25 + ["B"] * 10 + ["C"] * 3 + ["D"] * 2,
        }
    )
    claimed = [f"v{i}" for i in (*range(3), *range(25, 35), 38)]  # A: 3/25, B: 10/10, D: 1/2
    claims = pl.DataFrame({"vehicle_id": claimed, "part_number": "TH"})
    rates = lot_field_rates(genealogy, claims, part_number="TH", level=level)
    seen = set()
    for r in rates.iter_rows(named=True):
        low, high = proportion_confint(r["claimed"], r["vehicles"], alpha=1 - level, method="beta")
        assert r["per_thousand_low"] == pytest.approx(1000 * low, abs=1e-9)
        assert r["per_thousand_high"] == pytest.approx(1000 * high, abs=1e-9)
        assert r["per_thousand_low"] <= r["per_thousand"] <= r["per_thousand_high"]
        seen.add((r["lot_id"], r["claimed"], r["vehicles"]))
    assert seen == {("A", 3, 25), ("B", 10, 10), ("C", 0, 3), ("D", 1, 2)}
    lots = _by_lot(rates)
    assert lots["C"]["per_thousand_low"] == 0.0 and lots["B"]["per_thousand_high"] == 1000.0


def test_a_wider_level_gives_a_wider_interval() -> None:
    narrow = _by_lot(lot_field_rates(GENEALOGY, CLAIMS, part_number="TH", level=0.8))
    wide = _by_lot(lot_field_rates(GENEALOGY, CLAIMS, part_number="TH", level=0.99))
    for lot in ("L1", "L2"):
        assert wide[lot]["per_thousand_low"] < narrow[lot]["per_thousand_low"]
        assert wide[lot]["per_thousand_high"] > narrow[lot]["per_thousand_high"]


def test_without_other_lots_or_other_claims_there_is_no_ratio() -> None:
    one_lot = GENEALOGY.filter(pl.col("lot_id") == "L1")
    alone = lot_field_rates(one_lot, CLAIMS, part_number="TH").row(0, named=True)
    assert (alone["vehicles"], alone["claimed"]) == (4, 2)
    assert alone["others_per_thousand"] is None and alone["rate_ratio"] is None
    only_l1 = CLAIMS.filter(pl.col("vehicle_id").is_in(["v1", "v2"]))
    lots = _by_lot(lot_field_rates(GENEALOGY, only_l1, part_number="TH"))
    assert lots["L1"]["others_per_thousand"] == 0.0
    assert lots["L1"]["rate_ratio"] is None  # the rest never claimed: no finite ratio


def test_no_claim_at_all_gives_zero_rates() -> None:
    none = pl.DataFrame(schema={"vehicle_id": pl.String, "part_number": pl.String})
    rates = lot_field_rates(GENEALOGY, none, part_number="TH")
    assert rates["claimed"].to_list() == [0, 0, 0]
    assert rates["per_thousand"].to_list() == [0.0, 0.0, 0.0]
    assert rates["per_thousand_low"].to_list() == [0.0, 0.0, 0.0]


def test_a_part_no_vehicle_was_built_with_is_refused() -> None:
    with pytest.raises(InputError, match="no vehicle in the genealogy was built with part XX-9") as caught:  # fmt: skip
        lot_field_rates(GENEALOGY, CLAIMS, part_number="XX-9")
    assert caught.value.hint


@pytest.mark.parametrize(
    ("genealogy", "claims", "error"),
    [
        (GENEALOGY.drop("lot_id"), CLAIMS, "the genealogy lack column.*lot_id"),
        (
            GENEALOGY.drop("vehicle_id", "part_number"),
            CLAIMS,
            "lack column.*vehicle_id, part_number",
        ),
        (GENEALOGY, CLAIMS.drop("part_number"), "the claims lack column.*part_number"),
        (GENEALOGY, CLAIMS.rename({"vehicle_id": "vin"}), "the claims lack column.*vehicle_id"),
    ],
)
def test_missing_columns_are_named(
    genealogy: pl.DataFrame, claims: pl.DataFrame, error: str
) -> None:
    with pytest.raises(InputError, match=error) as caught:
        lot_field_rates(genealogy, claims, part_number="TH")
    assert caught.value.hint

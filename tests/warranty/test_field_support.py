"""Field support on a synthetic claims history with planted components, DTCs and repeat repairs."""

from __future__ import annotations

import random
from datetime import date, timedelta

import polars as pl
import pytest

from drivetrain.errors import InputError
from drivetrain.warranty.field_support import (
    NO_COMMENT,
    SIMILAR_SCHEMA,
    ServiceCase,
    failure_themes,
    repair_outcomes,
    similar_claims,
    suggest_repairs,
)

# component -> (labour code, part number, failure codes, comment templates)
PLANTED: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "thermostat": ("L-TH1", "TH-100", ("P0128",), (
        ("Engine slow to warm up, heater blows cold. Found P0128 stored, thermostat stuck open. "
        "Replaced thermostat and gasket, bled system."),
        ("Temp gauge stays low on highway, poor cabin heat. P0128 set. Thermostat stuck open, "
        "replaced thermostat, refilled coolant."),
        ("No heat at idle and MIL on. Coolant temperature below regulating temperature, "
        "thermostat opening early. Replaced thermostat assembly."),
        ("Engine never reaches operating temperature, heater lukewarm. Code P0128. Thermostat "
        "stuck open, replaced and bled cooling system."),
    )),
    "battery": ("L-BA1", "BAT-70", ("P0562", "W-NOSTART"), (
        ("No crank in the morning, slow cranking. Battery failed load test, low CCA. Replaced "
        "battery, reset BMS."),
        ("Would not start, battery voltage 11.2 V. P0562 stored. Battery internal short, "
        "replaced battery and registered new battery."),
        ("Intermittent no start, dim lights when cranking. Battery failed conductance test. "
        "Replaced 12V battery."),
    )),
    "brake_pads": ("L-BR1", "BP-310", ("W-NOISE",), (
        ("Squeal when braking at low speed. Front brake pads worn to wear indicator. Replaced "
        "front pads, resurfaced rotors."),
        ("Grinding noise from front when stopping. Pads worn to backing plate, rotor scored. "
        "Replaced brake pads and rotors."),
        ("Brake noise on light application, squeal. Pad material glazed. Replaced front brake "
        "pads, fitted anti squeal shims."),
    )),
    "wheel_speed_sensor": ("L-WS1", "WSS-22", ("C0035",), (
        ("ABS and traction control lights on. C0035 left front wheel speed sensor circuit, "
        "signal erratic. Replaced LF wheel speed sensor."),
        ("ABS warning light intermittent. Found C0035 stored, wheel speed sensor wiring chafed. "
        "Replaced sensor and harness clip."),
        ("Stability control light on after pothole. Wheel speed sensor reading zero, code C0035. "
        "Replaced sensor, cleared codes."),
    )),
    "window_regulator": ("L-WR1", "WR-05", ("W-ELEC",), (
        ("Driver window slow and stops halfway. Window regulator cable frayed. Replaced window "
        "regulator and motor."),
        ("Window drops into door. Regulator clip broken. Replaced front window regulator, "
        "initialised auto up."),
        ("Passenger window noisy and crooked going up. Window regulator track bent, replaced "
        "regulator."),
    )),
}  # fmt: skip
PREFIXES = ("", "Cust states ", "Customer says ", "Customer complaint: ")
SUFFIXES = ("", " Road test ok.", " Verified repair.", " Cleared codes, road test ok.")
START = date(2025, 1, 6)
REPEATED = ("thermostat-01", "thermostat-02", "thermostat-03")  # came back within 90 days
NULL_COMMENTS = ("brake_pads-10", "brake_pads-11", "brake_pads-12")


def _claim(
    claim_id: str, vehicle: str, part: str, day: date, comment: str | None, **kw: object
) -> dict[str, object]:
    labour, number, codes, _ = PLANTED[part]
    row: dict[str, object] = {
        "claim_id": claim_id, "vehicle_id": vehicle, "repair_date": day,
        "claim_date": day + timedelta(days=3), "mileage_km": 20_000.0, "months_in_service": 8,
        "labour_code": labour, "part_number": number, "causal_part": part,
        "failure_code": codes[0], "cost": 100.0, "currency": "EUR", "dealer": "D1",
        "region": "EU", "comment": comment, "source": "test",
    }  # fmt: skip
    row.update(kw)
    return row


def _history() -> pl.DataFrame:
    """12 claims per component on distinct vehicles, repeats and a late claim closing windows."""
    rng = random.Random(7)
    rows: list[dict[str, object]] = []
    days: dict[str, date] = {}
    for p, (part, (_, _, codes, templates)) in enumerate(PLANTED.items()):
        for i in range(1, 13):
            name = f"{part}-{i:02d}"
            text = rng.choice(PREFIXES) + rng.choice(templates) + rng.choice(SUFFIXES)
            day = days[name] = START + timedelta(days=7 * i + p)
            comment = None if name in NULL_COMMENTS else text
            cost = 100.0 + 10 * i
            rows.append(_claim(name, f"v-{name}", part, day, comment, cost=cost,
                               failure_code=codes[i % len(codes)]))  # fmt: skip
    for i, name in enumerate(REPEATED):  # the thermostat again 30-50 days later: housing leak
        day = days[name] + timedelta(days=30 + 10 * i)
        text = "Heater cold again after previous repair, thermostat housing leaking coolant. "
        rows.append(_claim(f"{name}-repeat", f"v-{name}", "thermostat", day,
                           text + "Replaced thermostat housing and thermostat.",
                           labour_code="L-TH2", part_number="TH-110", cost=260.0))  # fmt: skip
    day = days["thermostat-04"] + timedelta(days=200)
    rows.append(_claim("thermostat-04-later", "v-thermostat-04", "thermostat", day,
                       "Heater blows cold, P0128 stored. Thermostat stuck open, replaced."))  # fmt: skip
    # the table's last repair, long after the others: every earlier 90-day window has closed
    rows.append(_claim("late", "v-late", "window_regulator", date(2026, 6, 30), "Window slow."))
    return pl.DataFrame(rows, schema_overrides={"months_in_service": pl.Int32})


CLAIMS = _history()
THERMOSTAT_CASE = ServiceCase("engine slow to warm up, heater blows cold", dtcs=("P0128",))


def test_a_thermostat_case_finds_thermostat_claims() -> None:
    top = similar_claims(CLAIMS, THERMOSTAT_CASE, k=10)
    assert top.height == 10
    assert top["causal_part"].to_list() == ["thermostat"] * 10
    assert top["score"].is_sorted(descending=True)
    assert list(top.schema) == list(SIMILAR_SCHEMA)
    # from the text alone, an ABS complaint without DTCs finds the wheel speed sensor claims
    abs_top = similar_claims(CLAIMS, ServiceCase("ABS light on, traction control warning"), k=5)
    assert abs_top["causal_part"].to_list() == ["wheel_speed_sensor"] * 5
    assert abs_top["dtc_match"].to_list() == [0.0] * 5
    # workshop spelling: no word in common, the character n-grams still find the part
    typo_top = similar_claims(CLAIMS, ServiceCase("termostat stuk"), k=5)
    assert typo_top["causal_part"].to_list() == ["thermostat"] * 5


TWIN_TEXT = "Heater blows cold, engine slow to warm up. Replaced thermostat."


def _twins(second_code: str = "W-TEMP", second_text: str = TWIN_TEXT) -> pl.DataFrame:
    """Two thermostat claims alike but for what the second says, and a battery claim."""
    day = date(2025, 3, 1)
    return pl.DataFrame([
        _claim("a", "va", "thermostat", day, TWIN_TEXT, failure_code="W-TEMP"),
        _claim("b", "vb", "thermostat", day, second_text, failure_code=second_code),
        _claim("c", "vc", "battery", day, "No crank, battery flat. Replaced battery."),
    ])  # fmt: skip


def test_a_dtc_in_the_case_ranks_the_claim_carrying_it_first() -> None:
    # the DTC as the failure code, or only written (in lower case) in the comment
    for twins in (_twins("P0128"), _twins(second_text=TWIN_TEXT + " Code p0128 stored.")):
        ranked = similar_claims(twins, ServiceCase("heater cold", dtcs=("P0128",)))
        assert ranked["claim_id"].to_list()[:2] == ["b", "a"]
        assert ranked["dtc_match"].to_list()[:2] == [1.0, 0.0]
    ranked = similar_claims(_twins("P0128"), ServiceCase("heater cold"))
    assert ranked["text_similarity"][0] == pytest.approx(ranked["text_similarity"][1])
    assert ranked["score"][0] == pytest.approx(ranked["score"][1])  # without the DTC: a tie


def test_the_same_model_breaks_a_tie_and_the_own_vehicle_is_flagged() -> None:
    models = pl.DataFrame({"vehicle_id": ["va", "vb", "vc"], "model_id": ["M2", "M1", "M1"]})
    case = ServiceCase("heater cold", vehicle_id="vb")  # its model comes from the table
    ranked = similar_claims(_twins(), case, models=models)
    assert ranked["claim_id"].to_list()[:2] == ["b", "a"]
    assert ranked["same_model"].to_list()[:2] == [True, False]
    assert ranked["same_vehicle"].to_list()[:2] == [True, False]
    assert ranked["score"][0] - ranked["score"][1] == pytest.approx(0.1)


def test_repair_outcomes_by_hand() -> None:
    day = date(2026, 1, 10)
    claims = pl.DataFrame([
        _claim("1", "v1", "thermostat", day, None),
        _claim("2", "v1", "thermostat", day + timedelta(days=41), None),  # repeat of 1
        _claim("3", "v1", "thermostat", day + timedelta(days=241), None),  # 200 days after 2
        _claim("4", "v1", "battery", day + timedelta(days=20), None),  # another part
        _claim("5", "v2", "thermostat", day + timedelta(days=10), None),  # another vehicle
        _claim("6", "v2", "thermostat", day + timedelta(days=100), None),  # exactly 90 days on
        _claim("7", "v2", "thermostat", day + timedelta(days=100), None),  # same visit as 6
    ])  # fmt: skip
    got = repair_outcomes(claims).sort("claim_id")
    # the table ends on day 241: claim 3's window is still open, so its outcome is unknown
    assert got["fixed"].to_list() == [False, True, None, True, False, True, True]
    assert got["days_to_repeat"].to_list() == [41, None, None, None, 90, None, None]
    later = repair_outcomes(claims, as_of=day + timedelta(days=400)).sort("claim_id")
    assert later["fixed"].to_list() == [False, True, True, True, False, True, True]
    assert repair_outcomes(claims, window_days=30)["fixed"].to_list()[:2] == [True, True]


def test_suggest_repairs_counts_what_held() -> None:
    table = suggest_repairs(CLAIMS, THERMOSTAT_CASE, k=CLAIMS.height)
    rows = {(r["labour_code"], r["part_number"]): r for r in table.iter_rows(named=True)}
    # 12 first thermostat replacements + the one 200 days later; 3 came back within 90 days
    replaced = rows[("L-TH1", "TH-100")]
    assert (replaced["claims"], replaced["fixed"], replaced["outcome_known"]) == (13, 10, 13)
    assert replaced["fixed_share"] == pytest.approx(10 / 13)
    housing = rows[("L-TH2", "TH-110")]
    assert (housing["claims"], housing["fixed"], housing["fixed_share"]) == (3, 3, 1.0)
    assert housing["median_cost"] == 260.0
    assert table.row(0, named=True)["causal_part"] == "thermostat"
    assert table["fixed_score"].is_sorted(descending=True)
    # without the late claim the table ends 200 days after thermostat-04: the later
    # replacement's window is still open, so it counts as a claim but not as an outcome
    table = suggest_repairs(CLAIMS.filter(pl.col("claim_id") != "late"), THERMOSTAT_CASE, k=99)
    replaced = table.filter(pl.col("part_number") == "TH-100").row(0, named=True)
    assert (replaced["claims"], replaced["fixed"], replaced["outcome_known"]) == (13, 9, 12)
    assert replaced["fixed_share"] == pytest.approx(9 / 12)
    # and on the top 10 only, against the per-claim outcomes similar_claims reports
    top = similar_claims(CLAIMS, THERMOSTAT_CASE, k=10)
    small = suggest_repairs(CLAIMS, THERMOSTAT_CASE, k=10)
    assert small["claims"].sum() == 10
    assert small["fixed"].sum() == top["fixed"].sum()
    assert small["score"].sum() == pytest.approx(top["score"].sum())


def test_failure_themes_recover_the_planted_components() -> None:
    themes = failure_themes(CLAIMS)
    real = [t for t in themes if t.terms]
    assert len(real) == len(PLANTED)  # one per distinct causal part
    dominant = [t.components[0][0] for t in real]
    assert sorted(dominant) == sorted(PLANTED)
    purity = sum(t.components[0][1] for t in real) / sum(t.claims for t in real)
    assert purity > 0.8
    for theme in real:
        assert theme.label == ", ".join(theme.terms[:3])
        assert 1 <= len(theme.examples) <= 3
        assert len(theme.claim_ids) == theme.claims
    silent = next(t for t in themes if t.label == NO_COMMENT)
    assert silent.claims == 3
    assert sorted(silent.claim_ids) == sorted(NULL_COMMENTS)
    assert sum(t.claims for t in themes) == CLAIMS.height
    assert sum(t.share for t in themes) == pytest.approx(1.0)


def test_bad_input() -> None:
    with pytest.raises(InputError, match="comment") as error:
        similar_claims(CLAIMS.drop("comment"), THERMOSTAT_CASE)
    assert error.value.hint is not None
    with pytest.raises(InputError, match="cost"):
        suggest_repairs(CLAIMS.drop("cost"), THERMOSTAT_CASE)
    with pytest.raises(InputError, match="k must be at least 1"):
        similar_claims(CLAIMS, THERMOSTAT_CASE, k=0)
    with pytest.raises(InputError, match="not diagnostic codes"):
        similar_claims(CLAIMS, ServiceCase("heater cold", dtcs=("X0128",)))
    with pytest.raises(InputError, match="no models table"):
        similar_claims(CLAIMS, ServiceCase("heater cold", model_id="M1"))
    with pytest.raises(InputError, match="at least 2 non-empty comments"):
        failure_themes(CLAIMS.with_columns(pl.lit(None, dtype=pl.String).alias("comment")))
    with pytest.raises(InputError, match="n_themes"):
        failure_themes(CLAIMS, n_themes=500)
    empty = similar_claims(CLAIMS.clear(), THERMOSTAT_CASE)
    assert empty.is_empty()
    assert empty.schema == pl.Schema(SIMILAR_SCHEMA)

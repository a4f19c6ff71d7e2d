"""``drivetrain warranty …`` end to end: simulate, import, table, weibull, alerts, field support.

One data dir is built once per module: the demo's principals, a small registered fleet,
the simulated programs' warranty exports (with the dirty rows) imported into the lake.
Expected numbers are computed here from the CSV exports with plain Python, not with
drivetrain's own code.
"""

from __future__ import annotations

import csv
import json
import math
import shlex
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner, Result

from drivetrain.cli.main import app
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.lake import Lake

runner = CliRunner()
DAYS_PER_MONTH = 365.25 / 12  # the warranty clock's month (claims_table docstring)
WARRANTY_MONTHS = 36
DEFECT_MONTHS = {"2024-02", "2024-03", "2024-04"}  # SupplierDefect's build window
DEFECTIVE_SHARE = 0.125
DIRTY_IDS = {f"WC-BAD-{n}" for n in range(1, 7)}  # write_claims_csv(dirty=True)
COMMANDS = ("import", "simulate", "table", "weibull", "alerts", "evaluate", "similar", "themes")


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def ok(result: Result) -> Any:
    """The JSON a successful command printed."""
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@dataclass(frozen=True, slots=True)
class Warranty:
    data: Path
    production_csv: Path
    claims_csv: Path
    production_import: dict[str, Any]
    claims_import: dict[str, Any]
    stored_after_first_import: pa.Table

    def run(self, *args: str) -> Result:
        return invoke("--data-dir", str(self.data), *args)

    def line(self, command: str) -> Result:
        """Run a command line written as a person types it (after ``drivetrain``)."""
        return self.run(*shlex.split(command))

    def lake(self) -> Lake:
        return Lake(self.data / "lake")


def _claims_table(lake: Lake) -> pa.Table:
    return lake.read("warranty_claims").drop_columns(["source"]).sort_by("claim_id")


@pytest.fixture(scope="module")
def warranty(tmp_path_factory: pytest.TempPathFactory) -> Warranty:
    data = tmp_path_factory.mktemp("warranty") / "data"
    data.mkdir()
    (data / "principals.toml").write_text(DEMO_PRINCIPALS)

    def run(*args: str) -> Result:
        result = invoke("--data-dir", str(data), *args)
        assert result.exit_code == 0, (args, result.stderr)
        return result

    run("fleet", "simulate", "--vehicles", "20", "--days", "2", "--json")
    out = data / "w"
    run("warranty", "simulate", "--out", str(out), "--per-model-month", "60", "--dirty")
    production = json.loads(
        run("warranty", "import", str(out / "production.csv"), "--production", "--json").stdout
    )
    claims = json.loads(run("warranty", "import", str(out / "claims.csv"), "--json").stdout)
    return Warranty(
        data,
        out / "production.csv",
        out / "claims.csv",
        production,
        claims,
        _claims_table(Lake(data / "lake")),
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _good_claims(w: Warranty) -> list[dict[str, str]]:
    return [c for c in _rows(w.claims_csv) if c["claim_id"] not in DIRTY_IDS]


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _months(start: date, end: date) -> int:
    return math.floor((end - start).days / DAYS_PER_MONTH)


# -- import ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_import_stores_the_good_rows_and_quarantines_the_dirty_ones(warranty: Warranty) -> None:
    made, claimed = warranty.production_import, warranty.claims_import
    assert made["table"] == "vehicle_production"
    assert made["rows_stored"] == len(_rows(warranty.production_csv))
    assert made["rows_quarantined"] == 0 and made["rejects"] == []

    claims = _rows(warranty.claims_csv)
    assert {c["claim_id"] for c in claims} >= DIRTY_IDS
    assert claimed["table"] == "warranty_claims"
    assert claimed["rows_quarantined"] == 6
    assert claimed["rows_stored"] == len(claims) - 6
    # each reject names its line and carries the raw record, whose first field is the claim id
    assert {raw.split(",")[0] for _, _, raw in claimed["rejects"]} == DIRTY_IDS
    assert all(where.startswith("claims.csv:") for where, _, _ in claimed["rejects"])
    reasons = " | ".join(reason for _, reason, _ in claimed["rejects"])
    expected = ("before the sale", "negative", "not in the production records",
                "duplicate of claim", "USD", "not a valid VIN")  # fmt: skip
    assert all(e in reasons for e in expected), reasons

    stored = warranty.stored_after_first_import
    good = _good_claims(warranty)
    assert stored.num_rows == len(good)
    assert set(stored["claim_id"].to_pylist()) == {c["claim_id"] for c in good}
    assert "vin" not in stored.column_names  # the lake holds pseudonyms, never the VIN
    quarantined = warranty.lake().read("quarantine")
    ours = [r for r in quarantined.to_pylist() if r["run_id"] == claimed["run_id"]]
    assert len(ours) == 6 and {r["target_table"] for r in ours} == {"warranty_claims"}


@pytest.mark.slow
def test_importing_the_same_files_again_stores_nothing_new(warranty: Warranty) -> None:
    again = ok(warranty.run("warranty", "import", str(warranty.claims_csv), "--json"))
    assert again["rows_quarantined"] == 6
    assert again["rows_new"] == 0 and again["rows_stored"] == len(_good_claims(warranty))
    assert _claims_table(warranty.lake()).equals(warranty.stored_after_first_import)
    made = ok(
        warranty.run("warranty", "import", str(warranty.production_csv), "--production", "--json")
    )
    assert made["rows_quarantined"] == 0 and made["rows_new"] == 0
    assert warranty.lake().read("vehicle_production").num_rows == made["rows_stored"]


def test_import_of_a_missing_file_says_it_cannot_read_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    result = invoke("--data-dir", str(tmp_path / "d"), "warranty", "import", str(missing))
    assert result.exit_code != 0
    assert "cannot read" in result.stderr and "missing.csv" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


# -- claims per thousand ------------------------------------------------------------------


def _expected_table(w: Warranty, model: str, part: str) -> tuple[date, dict[tuple[str, int], Any]]:
    """The claims table recomputed from the CSVs: (as_of, {(build month, mis): row})."""
    claims = _good_claims(w)
    as_of = max(_day(c["claim_date"]) for c in claims)  # the default analysis date
    matured: dict[str, int] = {}
    sale: dict[str, date] = {}
    cohort: dict[str, str] = {}
    for v in _rows(w.production_csv):
        if v["model_id"] != model or not v["sale_date"] or _day(v["sale_date"]) > as_of:
            continue
        sale[v["vin"]] = _day(v["sale_date"])
        cohort[v["vin"]] = v["build_date"][:7]
        matured[v["vin"]] = min(_months(sale[v["vin"]], as_of), WARRANTY_MONTHS)
    at_risk: Counter[tuple[str, int]] = Counter()
    for vin, done in matured.items():
        for m in range(1, done + 1):
            at_risk[cohort[vin], m] += 1
    counted: Counter[tuple[str, int]] = Counter()
    for c in claims:
        vin = c["vin"]
        if c["causal_part"] != part or vin not in sale or _day(c["claim_date"]) > as_of:
            continue
        repair = _day(c["repair_date"])
        mis = _months(sale[vin], repair) + 1
        if repair >= sale[vin] and mis <= matured[vin]:
            counted[cohort[vin], mis] += 1
    expected: dict[tuple[str, int], Any] = {}
    running: defaultdict[str, float] = defaultdict(float)
    for key in sorted(at_risk):
        running[key[0]] += 1000 * counted[key] / at_risk[key]
        expected[key] = (at_risk[key], counted[key], running[key[0]])
    return as_of, expected


@pytest.mark.slow
def test_table_matches_claims_per_thousand_computed_from_the_csvs(warranty: Warranty) -> None:
    table = ok(
        warranty.line(
            "warranty table --as warranty --component thermostat --model fiat-tipo --json"
        )
    )
    as_of, expected = _expected_table(warranty, "fiat-tipo", "thermostat")
    assert table["as_of"] == as_of.isoformat() and table["cohort"] == "build_month"
    got = {(r["cohort"], r["mis"]): r for r in table["rows"]}
    assert set(got) == set(expected)
    for key, (at_risk, claims, cumulative) in expected.items():
        row = got[key]
        assert (row["at_risk"], row["claims"]) == (at_risk, claims), key
        assert row["cumulative_per_thousand"] == pytest.approx(cumulative, abs=1e-9), key
    # the bad lot shows: every defect-window cohort is far above every other cohort at MIS 12
    at_12 = {c: r["cumulative_per_thousand"] for (c, m), r in got.items() if m == 12}
    worst_other = max(v for c, v in at_12.items() if c not in DEFECT_MONTHS)
    assert min(at_12[c] for c in DEFECT_MONTHS) > 3 * max(worst_other, 10.0)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".png", ".html"])
def test_table_plot_writes_a_png_or_an_html_page(
    warranty: Warranty, tmp_path: Path, suffix: str
) -> None:
    chart = tmp_path / f"out{suffix}"
    result = warranty.line(
        "warranty table --as warranty --component thermostat --model fiat-tipo "
        f"--plot {shlex.quote(str(chart))}"
    )
    assert result.exit_code == 0, result.stderr
    assert "chart:" in result.stdout and "MIS 1" in result.stdout
    if suffix == ".png":
        assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    else:
        page = chart.read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and "<table" in page and "</table>" in page
        assert "data:image/png;base64," in page


@pytest.mark.slow
def test_table_with_an_impossible_as_of_says_it_is_not_a_date(warranty: Warranty) -> None:
    result = warranty.run("warranty", "table", "--as", "warranty", "--as-of", "2024-13-01")
    assert result.exit_code != 0
    assert "'2024-13-01' is not a date" in result.stderr and "YYYY-MM-DD" in result.stderr


# -- life fits ------------------------------------------------------------------------------


@pytest.mark.slow
def test_weibull_finds_the_defective_subpopulation_and_is_explainable(warranty: Warranty) -> None:
    fitted = ok(
        warranty.line(
            "warranty weibull thermostat --as warranty --model fiat-tipo "
            "--build-from 2024-02 --build-to 2024-04 --json"
        )
    )
    n = fitted["failures"] + fitted["running"]
    window = [
        v
        for v in _rows(warranty.production_csv)
        if v["model_id"] == "fiat-tipo" and v["build_date"][:7] in DEFECT_MONTHS and v["sale_date"]
    ]
    assert n == len(window)
    best = fitted["fits"][0]
    assert best["distribution"] == "weibull_ds"
    assert [f["aicc"] for f in fitted["fits"]] == sorted(f["aicc"] for f in fitted["fits"])
    # the realised defective count in n vehicles is binomial(n, 0.125): three standard errors
    # (about 0.07 for n = 200) cover it; the defective units fail well inside the warranty
    tolerance = 3 * math.sqrt(DEFECTIVE_SHARE * (1 - DEFECTIVE_SHARE) / n)
    share = best["parameters"]["DS"]
    assert abs(share - DEFECTIVE_SHARE) < tolerance
    low, high = best["bounds"]["DS"]
    assert low < share < high

    explained = ok(warranty.run("explain", fitted["output_id"], "--json"))
    assert explained["verified"] is True and explained["kind"] == "warranty_life_fit"
    assert (explained["principal"], explained["purpose"]) == ("warranty", "warranty")
    params = explained["params"]
    assert params["best"] == "weibull_ds" and params["as_of"] == fitted["as_of"]
    assert (params["failures"], params["running"]) == (fitted["failures"], fitted["running"])
    assert params["parameters"] == pytest.approx(best["parameters"], abs=1e-6)
    lake = warranty.lake()
    assert explained["inputs"] == {
        t: lake.version(t) for t in ("vehicle_production", "warranty_claims")
    }


@pytest.mark.slow
def test_weibull_plot_is_a_png(warranty: Warranty, tmp_path: Path) -> None:
    chart = tmp_path / "weibull.png"
    result = warranty.line(
        f"warranty weibull thermostat --as warranty --model fiat-tipo --plot {shlex.quote(str(chart))}"
    )
    assert result.exit_code == 0, result.stderr
    assert chart.read_bytes().startswith(b"\x89PNG") and "drivetrain explain out-" in result.stdout


@pytest.mark.slow
def test_weibull_of_an_unknown_part_lists_the_known_ones(warranty: Warranty) -> None:
    result = warranty.run("warranty", "weibull", "nosuchpart", "--as", "warranty")
    assert result.exit_code != 0
    assert "'nosuchpart'" in result.stderr and "causal parts with claims:" in result.stderr
    known = {c["causal_part"] for c in _good_claims(warranty)}
    assert all(part in result.stderr for part in known)


@pytest.mark.slow
def test_weibull_refuses_a_build_month_that_is_not_yyyy_mm(warranty: Warranty) -> None:
    result = warranty.run(
        "warranty", "weibull", "thermostat", "--as", "warranty", "--build-from", "2023-6"
    )
    assert result.exit_code != 0 and "YYYY-MM" in result.stderr


# -- early warning --------------------------------------------------------------------------


def _tipo_thermostat(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in alerts if (a["component"], a["model_id"]) == ("thermostat", "fiat-tipo")]


@pytest.mark.slow
def test_alerts_raise_the_supplier_defect_with_its_evidence(warranty: Warranty) -> None:
    report = ok(warranty.run("warranty", "alerts", "--as", "warranty", "--json"))
    found = _tipo_thermostat(report["alerts"])
    assert len(found) == 1
    alert = found[0]
    assert alert["build_months"] and set(alert["build_months"]) <= DEFECT_MONTHS
    assert 0 < alert["vehicles_at_risk"] <= alert["vehicles_built"]
    assert alert["claims"] > 0
    assert alert["projected_claims_at_warranty_end"] >= alert["claims"]
    assert alert["claims_per_thousand"] > alert["expected_per_thousand"]
    low, high = alert["projected_claims_range"]
    assert low <= alert["projected_claims_at_warranty_end"] <= high

    explained = ok(warranty.run("explain", alert["output_id"], "--json"))
    assert explained["verified"] is True and explained["kind"] == "warranty_alert"
    params = explained["params"]
    assert (params["component"], params["model_id"]) == ("thermostat", "fiat-tipo")
    assert params["build_months"] == alert["build_months"] and params["as_of"] == report["as_of"]
    assert explained["principal"] == "warranty"


@pytest.mark.slow
def test_a_brand_scoped_analyst_does_not_see_other_brands_claims(warranty: Warranty) -> None:
    # analyst-peugeot: fleet_analyst (granted warranty reads), Peugeot in eu only. The Peugeot
    # 308s in production are the connected fleet's, built before the simulated programs,
    # and none has a claim: there is nothing to analyse, and it says so.
    result = warranty.run("warranty", "alerts", "--as", "analyst-peugeot", "--json")
    assert result.exit_code != 0
    assert "no warranty claims this principal may read" in result.stderr
    assert "none of vehicles in this principal's brands" in result.stderr  # not "import some"
    assert "fiat-tipo" not in result.stdout + result.stderr

    # what the analyst does see is exactly the Peugeots of eu, sold a month or more ago
    as_of = max(_day(c["claim_date"]) for c in _good_claims(warranty))
    table = ok(
        warranty.line(
            f"warranty table --as analyst-peugeot --as-of {as_of} --cohort model_id --json"
        )
    )
    peugeots = [
        v
        for v in _rows(warranty.production_csv)
        if v["brand"] == "Peugeot" and v["region"] == "eu" and v["sale_date"]
        and _months(_day(v["sale_date"]), as_of) >= 1
    ]  # fmt: skip
    assert {r["cohort"] for r in table["rows"]} <= {v["model_id"] for v in peugeots}
    assert sum(r["at_risk"] for r in table["rows"] if r["mis"] == 1) == len(peugeots)
    assert all(r["claims"] == 0 for r in table["rows"])

    # the same role without the brand restriction sees the alert: it is the scope, not the role
    unscoped = ok(warranty.run("warranty", "alerts", "--as", "fleet-health", "--json"))
    assert len(_tipo_thermostat(unscoped["alerts"])) == 1


# -- field support --------------------------------------------------------------------------


@pytest.mark.slow
def test_similar_claims_point_at_the_thermostat(warranty: Warranty) -> None:
    found = ok(
        warranty.line(
            'warranty similar "heater blows cold engine slow to warm up" '
            "--dtc P0128 --as warranty --json"
        )
    )
    assert found["similar"], "no similar claim"
    top = found["similar"][0]
    assert top["causal_part"] == "thermostat" and top["failure_code"] == "P0128"
    scores = [s["score"] for s in found["similar"]]
    assert scores == sorted(scores, reverse=True)
    assert found["repairs"][0]["causal_part"] == "thermostat"


@pytest.mark.slow
def test_themes_of_fiat_tipo_claims_include_the_thermostat(warranty: Warranty) -> None:
    themes = ok(warranty.line("warranty themes --as warranty --model fiat-tipo --json"))
    assert themes
    assert any(part == "thermostat" for t in themes for part, _ in t["components"])
    assert all(t["claims"] > 0 and 0 < t["share"] <= 1 for t in themes)


# -- evaluation and help --------------------------------------------------------------------


@pytest.mark.slow
def test_evaluate_scores_glr_against_the_naive_rule() -> None:
    command = "warranty evaluate --seed 1 --defective-share 0.1248 --per-model-month 100 --json"
    result = invoke(*shlex.split(command))
    (summary,) = ok(result)
    assert summary["seeds"] == [1] and summary["defect"]["defective_share"] == 0.1248
    mis = summary["alert_mis"]
    assert len(mis["glr"]) == len(mis["naive"]) == 1
    glr, naive = mis["glr"][0], mis["naive"][0]
    assert glr is not None and (naive is None or glr <= naive)
    shares = [s for values in summary["false_alarm_share"].values() for s in values]
    assert shares and all(0 <= s <= 0.05 for s in shares)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_warranty_command_has_an_example(command: str) -> None:
    result = invoke("warranty", command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "drivetrain warranty" in result.stdout


@pytest.mark.slow
def test_alerts_link_the_health_scans_anomalies_when_asked(warranty: Warranty) -> None:
    plain = ok(warranty.run("warranty", "alerts", "--as", "warranty", "--json"))
    linked = ok(
        warranty.run(
            "warranty", "alerts", "--as", "warranty", "--health-as", "fleet-health", "--json"
        )
    )
    assert [a["component"] for a in linked["alerts"]] == [a["component"] for a in plain["alerts"]]
    for alert in linked["alerts"]:
        assert isinstance(alert["linked_anomalies"], list)
        inside = alert["connected_vehicles"]
        assert all(0 < c["vehicles"] <= inside for c in alert["linked_anomalies"])
    refused = warranty.run("warranty", "alerts", "--as", "warranty", "--health-as", "nobody")
    assert refused.exit_code != 0 and "nobody" in refused.stderr

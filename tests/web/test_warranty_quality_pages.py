"""The warranty and quality pages: the API's answers, to whom the API allows, over a demo analytics.

The pages are read over the session's ``analytics`` data (the demo fleet plus
the warranty programs' production and claims and the plant's exports, as
``drivetrain demo`` imports them). Over the plain ``console`` data, which has
no warranty or plant tables, they say there is nothing to show and how to
import it.
"""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from drivetrain.governance.identity import issue_api_key
from drivetrain.state import session_scope
from drivetrain.web.plots import number
from drivetrain.web.warranty import MIN_CHARTED
from tests.web.conftest import Console, sign_in
from tests.web.test_more_pages import _well_formed

AS_OF = date(2026, 4, 15)


def _api(client: TestClient, console: Console, principal: str, path: str) -> Any:
    answer = client.get(path, headers={"Authorization": f"Bearer {console.key(principal)}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _key_with(console: Console, principal: str, scope: str) -> dict[str, str]:
    with session_scope(console.settings.resolved_state_url) as session:
        _, token = issue_api_key(session, principal, [scope], label="web test, one scope")
    return {"Authorization": f"Bearer {token}"}


def _table(text: str, table_id: str) -> str:
    start = text.index(f'id="{table_id}"')
    return text[start : text.index("</table>", start)]


def _row_heads(text: str, table_id: str) -> list[str]:
    """The row headers' text of a table, tags stripped."""
    heads = re.findall(r'<th scope="row"[^>]*>(.*?)</th>', _table(text, table_id), re.DOTALL)
    heads = [re.sub(r"<details.*?</details>", "", h, flags=re.DOTALL) for h in heads]
    return [unescape(re.sub(r"<[^>]+>", "", h)).split(" best")[0].strip() for h in heads]


def _selected(text: str, select_id: str) -> str | None:
    start = text.index(f'<select id="{select_id}"')
    block = text[start : text.index("</select>", start)]
    found = re.search(r'<option value="([^"]*)" selected>', block)
    return unescape(found.group(1)) if found else None


def _svg_ok(text: str) -> None:
    svgs = re.findall(r"<svg [^>]*>\s*<title>[^<]+</title>", text)
    assert svgs and all('role="img"' in s and "aria-label=" in s for s in svgs)


def test_warranty_page_shows_the_apis_alerts_curves_and_fits(
    analytics_client: TestClient, analytics: Console
) -> None:
    sign_in(analytics_client, analytics, "warranty")
    page = analytics_client.get("/warranty")
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    _svg_ok(page.text)
    assert 'href="/warranty" aria-current="page"' in page.text
    api = _api(analytics_client, analytics, "warranty", "/api/v1/warranty/alerts")
    assert api["alerts"], "the demo's supplier defect raises an alert"
    assert _row_heads(page.text, "warranty-alerts") == [a["component"] for a in api["alerts"]]
    alerts = _table(page.text, "warranty-alerts")
    for a in api["alerts"]:
        assert f"{a['model_id']} · {a['region']}" in alerts
        assert f'<span class="rate-high">{number(a["statistic"])}</span>' in alerts
        assert f'href="/explain/{a["output_id"]}"' in alerts
    assert f"analysed as of\n  {api['as_of']}" in page.text

    top = api["alerts"][0]  # the first visit shows the top alert's component and model
    assert _selected(page.text, "component") == top["component"]
    assert _selected(page.text, "model") == top["model_id"]
    query = urlencode({"component": top["component"], "model": top["model_id"]})
    per = _api(
        analytics_client, analytics, "warranty", f"/api/v1/warranty/claims-per-thousand?{query}"
    )
    first_month = {r["cohort"]: r["at_risk"] for r in per["rows"] if r["mis"] == 1}
    charted = {c for c, n in first_month.items() if n >= MIN_CHARTED}
    chart = page.text[page.text.index('id="per-thousand-chart"') :]
    shown = set(re.findall(r'data-series="([^"]+)"', chart[: chart.index("</figure>")]))
    assert shown == charted | {"all cohorts (pooled)"}
    highlighted = re.findall(r'<g class="plot-highlight" data-series="([^"]+)"', chart)
    assert set(highlighted) == set(top["build_months"]) & charted

    fits = _api(analytics_client, analytics, "warranty", f"/api/v1/warranty/reliability/{top['component']}?"
                + urlencode({"model": top["model_id"]}))  # fmt: skip
    assert _row_heads(page.text, "reliability-fits") == [f["distribution"] for f in fits["fits"]]
    best = fits["fits"][0]
    table = _table(page.text, "reliability-fits")
    for value in best["parameters"].values():
        assert f"= {number(value, 4)}" in table
    assert f"{number(fits['failures'])} failures" in page.text
    assert f'href="/explain/{fits["output_id"]}"' in page.text
    curves = page.text[page.text.index('id="fit-chart"') :]
    assert len(re.findall(r'<g class="plot-[a-z0-9-]+" data-series=', curves)) == len(fits["fits"])


def test_warranty_filters_are_the_apis(analytics_client: TestClient, analytics: Console) -> None:
    sign_in(analytics_client, analytics, "warranty")
    page = analytics_client.get(
        "/warranty?method=cusum&h=3&as_of=2026-03-31&component=coolant_sensor&model="
    )
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    assert _selected(page.text, "method") == "cusum" and 'value="3"' in page.text
    api = _api(
        analytics_client,
        analytics,
        "warranty",
        "/api/v1/warranty/alerts?method=cusum&h=3&as_of=2026-03-31",
    )
    assert _row_heads(page.text, "warranty-alerts") == [a["component"] for a in api["alerts"]]
    assert api["as_of"] == "2026-03-31" and "analysed as of\n  2026-03-31" in page.text
    assert _selected(page.text, "component") == "coolant_sensor"
    assert _selected(page.text, "model") == ""  # any model
    fits = _api(
        analytics_client,
        analytics,
        "warranty",
        "/api/v1/warranty/reliability/coolant_sensor?as_of=2026-03-31",
    )
    assert _row_heads(page.text, "reliability-fits") == [f["distribution"] for f in fits["fits"]]

    by_plant = analytics_client.get("/warranty?component=thermostat&cohort=plant")
    assert by_plant.status_code == 200 and _selected(by_plant.text, "cohort") == "plant"
    few = analytics_client.get(
        "/warranty?component=thermostat&model=peugeot-308&build_from=2024-05&build_to=2024-05"
    )
    assert few.status_code == 200
    assert 'id="no-fit"' in few.text or 'id="reliability-fits"' in few.text


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("component=flux_capacitor", "component"),
        ("component=thermostat&model=delorean", "model"),
        ("component=thermostat&region=mars", "region"),
        ("method=magic", "detector"),
        ("h=-1", "decision threshold"),
        ("h=lots", "decision threshold"),
        ("as_of=yesterday", "is not a day"),
        ("build_from=2024-13", "build month"),
        ("cohort=colour", "cohort"),
    ],
)
def test_warranty_bad_query_is_a_clear_400(
    analytics_client: TestClient, analytics: Console, query: str, says: str
) -> None:
    sign_in(analytics_client, analytics, "warranty")
    page = analytics_client.get(f"/warranty?{query}")
    assert page.status_code == 400, page.text
    assert "input-error" in page.text and says in page.text
    assert 'class="hint"' in page.text or "pick one of" in page.text


def test_quality_page_shows_the_apis_chart_capability_pareto_and_suppliers(
    analytics_client: TestClient, analytics: Console
) -> None:
    sign_in(analytics_client, analytics, "quality")
    page = analytics_client.get("/quality")
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    _svg_ok(page.text)
    assert 'href="/quality" aria-current="page"' in page.text
    masters = _api(analytics_client, analytics, "quality", "/api/v1/quality/characteristics")
    options = re.findall(r'<option value="([^"]+)"', page.text[page.text.index('id="characteristic"') :].split("</select>")[0])  # fmt: skip
    assert options == [c["characteristic_id"] for c in masters]
    first = masters[0]["characteristic_id"]
    assert _selected(page.text, "characteristic") == first

    chart = _api(
        analytics_client, analytics, "quality", f"/api/v1/quality/characteristics/{first}/chart"
    )
    statistics = list(dict.fromkeys(p["statistic"] for p in chart["points"]))
    panels = re.findall(r'<figure class="plot" id="control-chart-\d+">', page.text)
    assert len(panels) == len(statistics)
    signals = _table(page.text, "signals")
    assert signals.count('<tr><th scope="row"') == len(chart["signals"])
    marked = sum(1 for s in chart["signals"] if s["value"] is not None)
    assert page.text.count('<circle class="plot-signal"') == marked
    for limit in chart["limits"]:
        for name, key in (("UCL", "ucl"), ("LCL", "lcl")):
            if limit[key] is not None:
                assert f"{name} {number(limit[key], 4)}</text>" in page.text
    assert f'href="/explain/{chart["output_id"]}"' in page.text

    capability = _api(analytics_client, analytics, "quality", "/api/v1/quality/capability")
    rows = capability["characteristics"]
    assert _row_heads(page.text, "capability") == [c["characteristic"] for c in rows]
    poor = [c for c in rows if c["ppk"] is not None and c["ppk"] < 1.33]
    assert poor, "the demo's thermostat opening temperature is not capable"
    table = _table(page.text, "capability")
    for c in poor:
        assert f"{c['ppk']:.2f} ▼</span>" in table

    pareto = _api(analytics_client, analytics, "quality", "/api/v1/quality/pareto")
    assert _row_heads(page.text, "pareto") == [b["category"] for b in pareto["bars"]]
    bars = page.text[page.text.index('id="pareto-chart"') :].split("</figure>")[0]
    assert bars.count("<rect ") == len(pareto["bars"]) and "<polyline" in bars

    suppliers = _api(analytics_client, analytics, "quality", "/api/v1/quality/suppliers")
    assert _row_heads(page.text, "supplier-ppm") == [s["supplier"] for s in suppliers["ppm"]]
    assert _row_heads(page.text, "flagged-lots") == [f["lot_id"] for f in suppliers["flagged"]]
    assert "LOT-TH-2402-B" in _row_heads(page.text, "flagged-lots")


def test_quality_filters_are_the_apis(analytics_client: TestClient, analytics: Console) -> None:
    sign_in(analytics_client, analytics, "quality")
    page = analytics_client.get("/quality?characteristic=TH-OPEN&chart=xbar_s&rules=nelson&phase1_until=2024-02-01&by=station_id")  # fmt: skip
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    assert _selected(page.text, "characteristic") == "TH-OPEN"
    assert _selected(page.text, "chart") == "xbar_s" and _selected(page.text, "rules") == "nelson"
    assert _selected(page.text, "by") == "station_id"
    query = urlencode(
        {"chart": "xbar_s", "rules": "nelson", "phase1_until": "2024-02-01T00:00:00Z"}
    )
    chart = _api(
        analytics_client,
        analytics,
        "quality",
        f"/api/v1/quality/characteristics/TH-OPEN/chart?{query}",
    )
    assert chart["chart"] == "xbar_s" and any(p["phase"] == "II" for p in chart["points"])
    assert _table(page.text, "signals").count('<tr><th scope="row"') == len(chart["signals"])
    assert "Phase II from here" in page.text
    pareto = _api(analytics_client, analytics, "quality", "/api/v1/quality/pareto?by=station_id")
    assert _row_heads(page.text, "pareto") == [b["category"] for b in pareto["bars"]]
    capability = _api(
        analytics_client,
        analytics,
        "quality",
        "/api/v1/quality/capability?until=2024-02-01T00:00:00Z",
    )
    table = _table(page.text, "capability")
    for c in capability["characteristics"]:
        assert f'<td class="num">{number(c["n"])}</td>' in table


@pytest.mark.parametrize(
    "query",
    [
        "characteristic=NOPE",
        "chart=pie",
        "characteristic=TH-OPEN&chart=imr",  # one measurement per subgroup, and these have 5
        "rules=golden",
        "by=colour",
        "phase1_until=soon",
        "phase1_until=2020-01-01",  # nothing measured before it
    ],
)
def test_quality_bad_query_is_a_clear_400(
    analytics_client: TestClient, analytics: Console, query: str
) -> None:
    sign_in(analytics_client, analytics, "quality")
    page = analytics_client.get(f"/quality?{query}")
    assert page.status_code == 400, page.text
    assert "input-error" in page.text and re.search(r"one of|YYYY-MM-DD|What to do", page.text)


def test_a_brand_scoped_analyst_sees_what_the_api_gives_them(
    analytics_client: TestClient, analytics: Console
) -> None:
    sign_in(
        analytics_client, analytics, "analyst-peugeot"
    )  # Peugeot in the EU: at most a few claims
    page = analytics_client.get("/warranty")
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    headers = {"Authorization": f"Bearer {analytics.key('analyst-peugeot')}"}
    api = analytics_client.get("/api/v1/warranty/alerts", headers=headers)
    if api.status_code == 404:  # none of their vehicles has a claim (the simulated faults vary)
        assert 'id="no-warranty-data"' in page.text
        assert api.json()["detail"].capitalize() in page.text and "brands and regions" in page.text
    else:
        assert api.status_code == 200, api.text
        answer = api.json()
        assert (
            f"{number(answer['vehicles'])} vehicles built, {number(answer['claims'])} claims"
            in (page.text)
        )
        assert _row_heads(page.text, "warranty-alerts") == [
            a["component"] for a in answer["alerts"]
        ]
    assert "fiat-tipo" not in page.text  # the programs' models are not theirs


@pytest.mark.parametrize(
    ("path", "principal", "rule"),
    [
        ("/warranty", "quality", "quality_engineer"),
        ("/warranty", "engineer", "product_engineer"),
        ("/quality", "warranty", "warranty_engineer"),
        ("/quality", "fleet-health", "fleet_analyst"),
    ],
)
def test_the_pages_refuse_a_role_without_the_grant(
    analytics_client: TestClient, analytics: Console, path: str, principal: str, rule: str
) -> None:
    sign_in(analytics_client, analytics, principal)
    page = analytics_client.get(path)
    assert page.status_code == 403, page.text
    assert '<h1 id="problem-title">Not allowed</h1>' in page.text
    assert "policy-denied" in page.text and rule in page.text
    assert "<svg" not in page.text.split("</header>")[1]


@pytest.mark.parametrize(
    ("path", "principal", "scope"),
    [("/warranty", "warranty", "warranty:read"), ("/quality", "quality", "quality:read")],
)
def test_the_pages_refuse_a_key_without_the_scope(
    analytics_client: TestClient, analytics: Console, path: str, principal: str, scope: str
) -> None:
    page = analytics_client.get(path, headers=_key_with(analytics, principal, "audit:read"))
    assert page.status_code == 403
    assert "insufficient-scope" in page.text and scope in page.text
    assert (
        analytics_client.get(path, headers=_key_with(analytics, principal, scope)).status_code
        == 200
    )


@pytest.mark.parametrize("path", ["/warranty", "/quality"])
def test_the_pages_send_one_signed_out_to_sign_in(analytics_client: TestClient, path: str) -> None:
    page = analytics_client.get(path)
    assert page.status_code == 303 and page.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize(
    ("path", "principal", "notice"),
    [("/warranty", "warranty", "no-warranty-data"), ("/quality", "quality", "no-plant-data")],
)
def test_without_the_tables_the_pages_say_how_to_import_them(
    client: TestClient, console: Console, path: str, principal: str, notice: str
) -> None:
    sign_in(client, console, principal)  # the session's demo: a fleet, no warranty or plant
    page = client.get(path)
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    assert f'id="{notice}"' in page.text and "import" in page.text


# -- in a real browser ------------------------------------------------------------------


@pytest.mark.slow
def test_the_pages_in_a_browser(analytics: Console, analytics_server: str) -> None:
    from tests.web.test_browser import (
        CHROMIUM,
        CHROMIUM_ARGS,
        VIEWPORT,
        require_chromium,
        shot,
    )

    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for principal, path in (("warranty", "/warranty"), ("quality", "/quality")):
            context = browser.new_context(viewport=VIEWPORT, base_url=analytics_server)
            tab = context.new_page()
            errors: list[str] = []
            tab.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
            tab.goto(path)
            assert "/login" in tab.url
            tab.get_by_label("Principal").fill(principal)
            tab.get_by_label("Password").fill(analytics.passwords[principal])
            with tab.expect_navigation():
                tab.get_by_role("button", name="Sign in").click()
            assert tab.url.endswith(path)
            charts = tab.locator("svg.plot")
            assert charts.count() >= 2 and charts.first.bounding_box()["width"] > 700
            tab.locator("main form button").first.focus()  # the forms work from the keyboard
            with tab.expect_navigation():
                tab.keyboard.press("Enter")
            assert tab.url.split("?")[0].endswith(path)
            shot(tab, path.strip("/"))
            context.close()
            assert not errors, f"console errors (a CSP violation?): {errors}"
        browser.close()
    assert Path(__file__).resolve().parents[1].joinpath("artifacts", "web", "quality.png").is_file()

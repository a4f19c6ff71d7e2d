"""The parts and copilot pages: the API's plan, forecast, documents and answers, to whom it allows.

The pages are read over the session's ``analytics`` data (the demo fleet with a
parts network and three documents indexed, :mod:`tests.demo_data`); over the
plain ``console`` data, which has neither, they say what is missing.
"""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drivetrain.web.copilot import MAX_QUESTION, answer_pieces
from drivetrain.web.parts import demand_chart
from tests.web.conftest import Console, sign_in
from tests.web.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    require_chromium,
    shot,
)
from tests.web.test_browser import sign_in as browser_sign_in
from tests.web.test_more_pages import _key_with, _well_formed

DIRECTOR = "What does the Director repository do?"
UNRELATED = "What is the recipe for a chocolate cake with strawberries?"


def _api(client: TestClient, console: Console, principal: str, path: str) -> dict[str, Any]:
    answer = client.get(path, headers={"Authorization": f"Bearer {console.key(principal)}"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    return body


def _ask_api(client: TestClient, console: Console, principal: str, question: str) -> Any:
    headers = {"Authorization": f"Bearer {console.key(principal)}"}
    answer = client.post("/api/v1/copilot/ask", json={"question": question}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _cells(page: str, series: str) -> list[str]:
    row = re.search(rf'<tr data-series="{re.escape(series)}">(.*?)</tr>', page, re.DOTALL)
    assert row, series
    return [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1), re.DOTALL)]  # fmt: skip


def _one(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def test_the_parts_page_shows_the_apis_plan(
    analytics_client: TestClient, analytics: Console
) -> None:
    sign_in(analytics_client, analytics, "parts")
    page = analytics_client.get("/parts")
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    api = _api(analytics_client, analytics, "parts", "/api/v1/parts/plan?limit=50")
    shown = re.findall(r'<tr data-series="([^"]+)">', page.text)
    assert shown == [r["unique_id"] for r in api["items"]] and len(shown) == 50
    for row in api["items"][:10]:
        cells = _cells(page.text, row["unique_id"])
        assert cells[:4] == [row["part_number"], row["location_id"], row["model"], row["method"]]
        assert cells[5:9] == [
            _one(row["mean_per_period"], 2),
            _one(row["safety_stock"]),
            _one(row["reorder_point"]),
            _one(row["order_up_to"]),
        ]
    assert f"Series 1–50 of {api['total']}" in page.text
    assert f'<span class="kpi-value">{api["totals"]["series"]}</span>' in page.text
    assert f'href="/explain/{api["output_id"]}"' in page.text
    assert 'href="/parts" aria-current="page"' in page.text
    assert 'href="/parts?offset=50" rel="next"' in page.text
    second = analytics_client.get("/parts?offset=50")
    later = _api(analytics_client, analytics, "parts", "/api/v1/parts/plan?limit=50&offset=50")
    assert re.findall(r'<tr data-series="([^"]+)">', second.text) == [
        r["unique_id"] for r in later["items"]
    ]
    # another target: the API's plan for it
    other = analytics_client.get("/parts?service_level=0.9&fill_rate=true")
    assert other.status_code == 200 and '<option value="0.9" selected>' in other.text
    fill = _api(analytics_client, analytics, "parts", "/api/v1/parts/plan?limit=50&service_level=0.9&fill_rate=true")  # fmt: skip
    first = fill["items"][0]
    assert _cells(other.text, first["unique_id"])[7] == _one(first["reorder_point"])


def test_a_series_is_charted_with_the_apis_forecast(
    analytics_client: TestClient, analytics: Console
) -> None:
    sign_in(analytics_client, analytics, "parts")
    plan = _api(
        analytics_client, analytics, "parts", "/api/v1/parts/plan?part_number=TH-1004&limit=1000"
    )
    one = plan["items"][0]
    part, location = one["part_number"], one["location_id"]
    assert f'href="/parts?part_number={part}&amp;location_id={location}#demand"' in analytics_client.get(f"/parts?part_number={part}").text  # fmt: skip
    page = analytics_client.get(f"/parts?part_number={part}&location_id={location}")
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    assert re.findall(r'<tr data-series="([^"]+)">', page.text) == [one["unique_id"]]
    assert '<figure class="plot" id="demand-chart">' in page.text
    assert 'data-series="Issued">' in page.text and 'data-series="Forecast">' in page.text
    forecast = _api(
        analytics_client, analytics, "parts",
        f"/api/v1/parts/forecast?part_number={part}&location_id={location}&limit=1000",
    )  # fmt: skip
    table = page.text[page.text.index('id="demand-table"') :]
    rows = re.findall(r'<th scope="row">(\d{4}-\d\d)</th>\s*<td class="num">([^<]+)</td>\s*<td class="num">([^<]+)</td>', table)  # fmt: skip
    ahead = {r[0]: r[2] for r in rows if r[2] != "—"}
    assert ahead == {f["ds"][:7]: f"{f['forecast']:,.1f}" for f in forecast["items"]}
    assert sum(r[1] != "—" for r in rows) >= 12  # months of history before the forecast
    # the part over every location: the forecasts summed per month
    every = analytics_client.get(f"/parts?part_number={part}")
    assert every.status_code == 200 and "every location" in every.text
    assert len(re.findall(r'<tr data-series="', every.text)) == min(plan["total"], 50)
    whole = _api(
        analytics_client,
        analytics,
        "parts",
        f"/api/v1/parts/forecast?part_number={part}&limit=1000",
    )
    sums: dict[str, float] = {}
    for f in whole["items"]:
        sums[f["ds"][:7]] = sums.get(f["ds"][:7], 0.0) + f["forecast"]
    table = every.text[every.text.index('id="demand-table"') :]
    rows = re.findall(r'<th scope="row">(\d{4}-\d\d)</th>\s*<td class="num">[^<]+</td>\s*<td class="num">([^<]+)</td>', table)  # fmt: skip
    assert {m: v for m, v in rows if v != "—"} == {m: f"{v:,.1f}" for m, v in sums.items()}
    informed = analytics_client.get(f"/parts?part_number={part}&location_id={location}&fleet=true")
    assert informed.status_code == 200 and 'id="fleet" name="fleet" value="true" checked' in informed.text  # fmt: skip
    assert _cells(informed.text, one["unique_id"])[2].endswith("+fleet")


def test_a_fleet_analyst_may_plan_too(analytics_client: TestClient, analytics: Console) -> None:
    sign_in(analytics_client, analytics, "fleet-health")
    page = analytics_client.get("/parts?location_id=" + _api(analytics_client, analytics, "fleet-health", "/api/v1/parts/plan?limit=1")["items"][0]["location_id"])  # fmt: skip
    assert page.status_code == 200, page.text
    assert "Pick a part" in page.text


def test_the_parts_page_refuses_anyone_but_planners(
    analytics_client: TestClient, analytics: Console
) -> None:
    sign_in(analytics_client, analytics, "warranty")
    page = analytics_client.get("/parts")
    assert page.status_code == 403
    assert '<h1 id="problem-title">Not allowed</h1>' in page.text and "policy-denied" in page.text
    assert "data-series" not in page.text
    analytics_client.cookies.clear()
    refused = analytics_client.get("/parts", headers=_key_with(analytics, "parts", "copilot:read"))
    assert refused.status_code == 403 and "insufficient-scope" in refused.text
    assert "parts:read" in refused.text


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("part_number=NO-SUCH-PART", 400),
        ("location_id=nowhere", 400),
        ("service_level=2", 422),
        ("service_level=half", 422),
        ("offset=-1", 422),
        ("part_number=" + "x" * 65, 422),
    ],
)
def test_bad_parts_parameters_are_4xx_pages(
    analytics_client: TestClient, analytics: Console, query: str, status: int
) -> None:
    sign_in(analytics_client, analytics, "parts")
    page = analytics_client.get(f"/parts?{query}")
    assert page.status_code == status, page.text
    assert '<h1 id="problem-title">' in page.text
    if status == 400:
        assert "input-error" in page.text and "pick one of the" in page.text


def test_empty_filters_mean_any(analytics_client: TestClient, analytics: Console) -> None:
    sign_in(analytics_client, analytics, "parts")
    page = analytics_client.get(
        "/parts?part_number=&location_id=&service_level=0.95&fill_rate=false"
    )
    assert page.status_code == 200 and 'id="demand-hint"' in page.text


def test_the_copilot_page_lists_the_readable_documents(
    analytics_client: TestClient, analytics: Console
) -> None:
    for principal, expected in (("engineer", 3), ("parts", 1)):
        analytics_client.cookies.clear()
        sign_in(analytics_client, analytics, principal)
        page = analytics_client.get("/copilot")
        assert page.status_code == 200, page.text
        _well_formed(page.text)
        assert '<label for="question">' in page.text and "<textarea" in page.text
        api = _api(analytics_client, analytics, principal, "/api/v1/copilot/documents")
        assert api["total"] == expected
        table = page.text[page.text.index('id="documents"') :]
        assert re.findall(r"<td><code>([^<]+)</code></td>", table) == [d["source"] for d in api["items"]]  # fmt: skip
        assert f"of {expected} readable for" in table
    assert "brake-test.md" not in page.text  # the planner may not read the test report


def test_an_answer_shows_the_apis_citations(
    analytics_client: TestClient, analytics: Console
) -> None:
    token = sign_in(analytics_client, analytics, "engineer")
    page = analytics_client.post("/copilot", data={"question": DIRECTOR, "csrf_token": token})
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    api = _ask_api(analytics_client, analytics, "engineer", DIRECTOR)
    assert api["found"] and api["citations"]
    numbers = [int(n) for n in re.findall(r'<li id="citation-(\d+)"', page.text)]
    assert numbers == [c["number"] for c in api["citations"]]
    citations = [unescape(c) for c in re.findall(r'<span class="citation">([^<]+)</span>', page.text)]  # fmt: skip
    assert citations == [c["citation"] for c in api["citations"]]
    for c in api["citations"]:
        assert f'href="#citation-{c["number"]}"' in page.text
    answer = re.search(r'data-testid="answer">(.*?)</p>', page.text, re.DOTALL)
    assert answer and unescape(re.sub(r"<[^>]+>", "", answer.group(1))) == api["answer"]
    assert "Director repository" in page.text  # the cited document's title
    assert "<code>engineer</code>, for the purpose <code>engineering_support</code>" in page.text
    output = re.search(r'href="/explain/(out-[0-9a-f]+)"', page.text)
    assert output and analytics_client.get(f"/explain/{output.group(1)}").status_code == 200
    assert f">{DIRECTOR}</textarea>" in page.text  # the question stays on the form


def test_a_question_the_documents_do_not_carry_is_declined(
    analytics_client: TestClient, analytics: Console
) -> None:
    token = sign_in(analytics_client, analytics, "parts")
    page = analytics_client.post("/copilot", data={"question": UNRELATED, "csrf_token": token})
    assert page.status_code == 200, page.text
    api = _ask_api(analytics_client, analytics, "parts", UNRELATED)
    assert api["found"] is False and api["citations"] == []
    assert 'data-testid="no-answer"' in page.text and "No grounded answer" in page.text
    assert "Not found in the documents." in page.text and 'id="citations"' not in page.text


def test_the_copilot_form_is_refused_without_its_token(
    analytics_client: TestClient, analytics: Console
) -> None:
    sign_in(analytics_client, analytics, "engineer")
    for data in ({"question": DIRECTOR}, {"question": DIRECTOR, "csrf_token": "forged"}):
        page = analytics_client.post("/copilot", data=data)
        assert page.status_code == 403
        assert "csrf-failed" in page.text and 'id="citations"' not in page.text


@pytest.mark.parametrize(
    ("question", "says"),
    [("", "Type a question first"), ("   \n ", "Type a question first"),
     ("why " * 600, f"at most {MAX_QUESTION:,} characters")],
)  # fmt: skip
def test_an_empty_or_long_question_gets_the_form_back(
    analytics_client: TestClient, analytics: Console, question: str, says: str
) -> None:
    token = sign_in(analytics_client, analytics, "engineer")
    page = analytics_client.post("/copilot", data={"question": question, "csrf_token": token})
    assert page.status_code == 400, page.text
    _well_formed(page.text)
    assert says in page.text and 'role="alert"' in page.text and 'aria-invalid="true"' in page.text
    assert 'id="answer"' not in page.text and 'id="documents"' in page.text


def test_bad_copilot_parameters_are_4xx(analytics_client: TestClient, analytics: Console) -> None:
    token = sign_in(analytics_client, analytics, "engineer")
    assert analytics_client.post("/copilot", data={"question": DIRECTOR, "k": "99", "csrf_token": token}).status_code == 422  # fmt: skip
    assert analytics_client.post("/copilot", data={"question": "x" * 20_001, "csrf_token": token}).status_code == 422  # fmt: skip
    assert analytics_client.get("/copilot?offset=-3").status_code == 422
    assert analytics_client.get("/copilot?offset=1").status_code == 200


def test_the_copilot_refuses_a_key_without_its_scope(
    analytics_client: TestClient, analytics: Console
) -> None:
    for method in ("get", "post"):
        page = getattr(analytics_client, method)("/copilot", headers=_key_with(analytics, "engineer", "parts:read"))  # fmt: skip
        assert page.status_code == 403, method
        assert "insufficient-scope" in page.text and "copilot:read" in page.text
    allowed = analytics_client.get(
        "/copilot", headers=_key_with(analytics, "engineer", "copilot:read")
    )
    assert allowed.status_code == 200


@pytest.mark.parametrize("path", ["/parts", "/copilot"])
def test_the_pages_send_one_signed_out_to_sign_in(analytics_client: TestClient, path: str) -> None:
    page = analytics_client.get(path)
    assert page.status_code == 303 and page.headers["location"] == f"/login?next={path}"


def test_without_parts_tables_or_an_index_the_pages_say_what_to_do(
    client: TestClient, console: Console
) -> None:
    sign_in(client, console, "engineer")
    copilot = client.get("/copilot")
    assert copilot.status_code == 404 and "drivetrain docs add" in copilot.text
    client.cookies.clear()
    sign_in(client, console, "parts")
    parts = client.get("/parts")
    assert parts.status_code == 404 and "drivetrain parts" in parts.text


def test_the_demand_chart_fills_months_without_demand() -> None:
    issued = {date(2025, 1, 1): 4.0, date(2025, 3, 1): 2.0}
    chart = demand_chart("P@L", issued, {date(2025, 4, 1): 3.0, date(2025, 5, 1): 3.5})
    assert [m.issued for m in chart.months] == [4.0, 0.0, 2.0, None, None]
    assert [m.forecast for m in chart.months] == [None, None, None, 3.0, 3.5]
    history, forecast = chart.plot.lines
    assert len(history.polylines[0].split()) == 3 and len(forecast.polylines[0].split()) == 3
    assert history.polylines[0].split()[-1] == forecast.polylines[0].split()[0]  # they join
    assert [m.label for m in chart.plot.markers] == ["forecast"]
    assert chart.plot.y_ticks[0][1] == "0"  # the y axis starts at zero


def test_answer_pieces_link_only_listed_citations() -> None:
    pieces = answer_pieces("A is B. [1] C is D [2]. [7]", {1, 2})
    assert [(p.text, p.number) for p in pieces] == [
        ("A is B. ", None), ("[1]", 1), (" C is D ", None), ("[2]", 2), (". [7]", None),
    ]  # fmt: skip


@pytest.mark.slow
def test_a_planner_charts_a_part_and_asks_the_copilot(
    analytics: Console, analytics_server: str
) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport=VIEWPORT, base_url=analytics_server)
        context.set_default_timeout(30_000)
        tab = context.new_page()
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        browser_sign_in(tab, analytics, "engineer", "/copilot")
        assert tab.url.endswith("/copilot")
        tab.get_by_label("Your question").fill(DIRECTOR)
        with tab.expect_navigation():
            tab.get_by_role("button", name="Ask").click()
        assert tab.get_by_test_id("answer").is_visible()
        assert tab.locator("#citations > li").count() >= 1
        tab.locator("a.cite-ref").first.click()
        assert tab.locator("#citation-1").is_visible()
        shot(tab, "copilot-answer")
        tab.get_by_label("Your question").fill(UNRELATED)
        with tab.expect_navigation():
            tab.get_by_role("button", name="Ask").click()
        assert tab.get_by_test_id("no-answer").is_visible()
        shot(tab, "copilot-no-answer")

        context.clear_cookies()
        browser_sign_in(tab, analytics, "parts", "/parts")
        assert tab.locator("#plan tbody tr").count() == 50
        tab.select_option("#part_number", "TH-1004")
        with tab.expect_navigation():
            tab.get_by_role("button", name="Show").click()
        assert tab.locator("#demand-chart svg polyline").count() >= 2
        shot(tab, "parts")
        context.close()
        chromium.close()
    assert not errors, f"console errors (a CSP violation?): {errors}"

"""The console's pages show what the API answers, to whom the policy allows, without inline code."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Console, sign_in

INLINE_CODE = re.compile(r"<style|\sstyle=|<script(?![^>]*\ssrc=)|\son[a-z]+=", re.IGNORECASE)


def _api(client: TestClient, console: Console, principal: str, path: str) -> object:
    """What the API answers ``principal`` (with an API key, so the test client's cookies stay)."""
    answer = client.get(path, headers={"Authorization": f"Bearer {console.key(principal)}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _no_inline_code(page: str) -> None:
    found = INLINE_CODE.search(page)
    assert found is None, (
        f"inline style or script (the CSP forbids it): {page[found.start() :][:80]}"
    )


@pytest.fixture
def fleet_health(client: TestClient, console: Console) -> TestClient:
    sign_in(client, console, "fleet-health")
    return client


def test_overview_shows_the_apis_figures_map_and_ranking(
    fleet_health: TestClient, console: Console
) -> None:
    page = fleet_health.get("/?top=10")
    assert page.status_code == 200, page.text
    text = page.text
    _no_inline_code(text)
    assert "default-src 'self'" in page.headers["content-security-policy"]
    api = _api(fleet_health, console, "fleet-health", "/api/v1/health/overview?top=10")
    assert isinstance(api, dict)
    for kpi, key in (("vehicles", "vehicles"), ("attention", "needing_attention")):
        assert f'data-testid="kpi-{kpi}">{api[key]}<' in text
    assert f'data-testid="kpi-anomalies">{api["anomalies"]}<' in text
    # the ranking: the API's vehicles in the API's order, each linking to its page
    ranking = re.findall(r'<th scope="row"><a href="/vehicles/([^"]+)">', text)
    assert ranking == [r["vehicle_id"] for r in api["ranking"]] and len(ranking) == 10
    # the map: an accessible SVG with one bubble per market, and the same data as a table
    assert 'role="img"' in text and 'id="map-title"' in text
    bubbles = re.findall(r'<g class="bubble (health-\w+)" data-market="(\w\w)">', text)
    assert sorted(m for _, m in bubbles) == sorted(m["market"] for m in api["markets"])
    for band, market in bubbles:
        health = next(m["mean_health"] for m in api["markets"] if m["market"] == market)
        assert band == ("health-good" if health >= 97 else "health-watch" if health >= 90
                        else "health-poor")  # fmt: skip
    assert text.count('<path d="M') > 150  # the world's outlines, drawn on the server
    table = text[text.index('id="market-table"') :]
    for m in api["markets"]:
        assert f"({m['market']})</th>" in table
    assert f'href="/explain/{api["output_id"]}"' in text
    assert 'aria-current="page"' in text and 'href="/audit"' in text


def test_vehicle_page_charts_signals_and_lists_dtcs(
    fleet_health: TestClient, console: Console
) -> None:
    overview = _api(fleet_health, console, "fleet-health", "/api/v1/health/overview")
    assert isinstance(overview, dict)
    top = overview["ranking"][0]["vehicle_id"]
    page = fleet_health.get(f"/vehicles/{top}")
    assert page.status_code == 200, page.text
    _no_inline_code(page.text)
    assert page.text.count('class="signal-chart"') >= 1
    assert '<label for="signal">' in page.text and 'name="csrf_token"' in page.text
    dtcs = _api(fleet_health, console, "fleet-health", f"/api/v1/health/vehicles/{top}/dtcs")
    assert isinstance(dtcs, list) and dtcs
    shown = re.findall(r'<th scope="row"><code>([^<]+)</code>', page.text)
    assert sorted(shown) == sorted({d["dtc"] for d in dtcs})
    assert f"{len(dtcs)} events of {len(shown)} codes" in page.text
    # one signal picked: one chart whose line has the API's points
    one = fleet_health.get(f"/vehicles/{top}?signal=Vehicle.Speed")
    assert one.text.count('class="signal-chart"') == 1
    assert '<option value="Vehicle.Speed" selected>' in one.text
    api = _api(
        fleet_health,
        console,
        "fleet-health",
        f"/api/v1/health/vehicles/{top}/signals?signal=Vehicle.Speed&points=300",
    )
    assert isinstance(api, dict)
    lines = re.findall(r'<polyline points="([^"]+)"/>', one.text)
    dots = re.findall(r'<circle cx="[\d.]+" cy="[\d.]+" r="2"/>', one.text)
    drawn = sum(len(points.split()) for points in lines) + len(dots)
    assert drawn == len(api["series"][0]["points"]) > 0
    rows = one.text[one.text.index("<details>") :].count("<tr><td>")
    assert rows == drawn  # the data table behind the chart has every point


def test_vehicle_page_reports_what_it_cannot_show(fleet_health: TestClient) -> None:
    overview = fleet_health.get("/")
    top = re.findall(r'href="/vehicles/([^"]+)"', overview.text)[0]
    none = fleet_health.get(f"/vehicles/{top}?signal=Vehicle.NoSuchSignal")
    assert (
        none.status_code == 200 and "No data in this range for: Vehicle.NoSuchSignal" in none.text
    )
    bad = fleet_health.get(f"/vehicles/{top}?since=yesterday")
    assert bad.status_code == 400 and "Since &#39;yesterday&#39; is not a day" in bad.text
    empty = fleet_health.get(f"/vehicles/{top}?signal=Vehicle.Speed&since=&until=")
    assert empty.status_code == 200 and empty.text.count('class="signal-chart"') == 1
    day = fleet_health.get(
        f"/vehicles/{top}?signal=Vehicle.Speed&since=2026-04-14&until=2026-04-14"
    )
    assert day.status_code == 200 and 'value="2026-04-14"' in day.text
    many = "&".join(f"signal=S{i}" for i in range(13))
    assert fleet_health.get(f"/vehicles/{top}?{many}").status_code == 422


def test_diagnosis_needs_the_csrf_token_and_links_its_explanation(
    client: TestClient, console: Console
) -> None:
    csrf = sign_in(client, console, "fleet-health")
    overview = _api(client, console, "fleet-health", "/api/v1/health/overview")
    assert isinstance(overview, dict)
    top = overview["ranking"][0]["vehicle_id"]
    refused = client.post(f"/vehicles/{top}/diagnosis", data={})
    assert refused.status_code == 403 and "csrf-failed" in refused.text
    wrong = client.post(f"/vehicles/{top}/diagnosis", data={"csrf_token": csrf[::-1]})
    assert wrong.status_code == 403
    page = client.post(f"/vehicles/{top}/diagnosis", data={"csrf_token": csrf})
    assert page.status_code == 200, page.text
    _no_inline_code(page.text)
    reference = client.post(
        f"/api/v1/health/vehicles/{top}/diagnosis",
        headers={"Authorization": f"Bearer {console.key('fleet-health')}"},
    ).json()
    names = [html.unescape(n) for n in re.findall(r"<h3>([^<]+) <span", page.text)]
    assert names == [c["name"] for c in reference["causes"]] and names
    output_id = re.search(r'href="/explain/(out-[0-9a-f]{32})" id="explain-link"', page.text)
    assert output_id is not None
    explained = client.get(f"/explain/{output_id.group(1)}")
    assert explained.status_code == 200
    assert 'data-testid="verified"' in explained.text
    assert "<dd>fleet-health</dd>" in explained.text and "<dd>vehicle_health</dd>" in explained.text
    api = _api(client, console, "fleet-health", f"/api/v1/explain/{output_id.group(1)}")
    assert isinstance(api, dict)
    assert f"<dd>#{api['audit_seq']}</dd>" in explained.text
    # the leaf is the record's; the tree head is the latest, which moves on as the log grows
    assert api["inclusion_proof"]["leaf_hash"] in explained.text
    for table in api["inputs"]:
        assert f'<th scope="row">{table}</th>' in explained.text
    # the same visibility rule as the API: not someone else's, except for the officer
    client.cookies.clear()
    sign_in(client, console, "analyst-peugeot")
    other = client.get(f"/explain/{output_id.group(1)}")
    assert other.status_code == 404 and "produced for you" in other.text
    client.cookies.clear()
    sign_in(client, console, "dpo-eu")
    assert client.get(f"/explain/{output_id.group(1)}").status_code == 200


def test_explain_of_a_malformed_or_unknown_id(fleet_health: TestClient) -> None:
    bad = fleet_health.get("/explain/not-an-id")
    assert bad.status_code == 400 and "is not an output id" in bad.text
    unknown = fleet_health.get("/explain/out-" + "0" * 32)
    assert unknown.status_code == 404 and "No AI output" in unknown.text


@pytest.mark.parametrize("principal", ["warranty", "dpo-eu"])
def test_a_principal_who_may_not_read_telemetry_sees_the_rule(
    client: TestClient, console: Console, principal: str
) -> None:
    sign_in(client, console, principal)
    page = client.get("/")
    assert page.status_code == 403
    assert '<h1 id="problem-title">Not allowed</h1>' in page.text
    assert "no rule grants role(s)" in page.text and "policy-denied" in page.text
    assert "What to do:" in page.text and 'href="/audit"' in page.text  # the nav still works


@pytest.mark.parametrize("principal", ["analyst-peugeot", "dpo-eu"])
def test_a_vehicle_one_may_not_read_is_not_found(
    client: TestClient, console: Console, principal: str
) -> None:
    overview = _api(client, console, "fleet-health", "/api/v1/health/overview?top=1000")
    assert isinstance(overview, dict)
    ram = next(r["vehicle_id"] for r in overview["ranking"] if r["brand"] == "Ram")
    sign_in(client, console, principal)
    page = client.get(f"/vehicles/{ram}")
    assert page.status_code == 404 and "that you may read" in page.text
    assert "Traceback" not in page.text


def test_audit_page_verifies_and_shows_ones_own_entries(
    client: TestClient, console: Console
) -> None:
    sign_in(client, console, "analyst-peugeot")
    page = client.get("/audit")
    assert page.status_code == 200
    _no_inline_code(page.text)
    assert 'data-testid="audit-status">Verified' in page.text
    principals = set(re.findall(r"</td><td>[a-z_]+</td>\s*<td>([^<]+)</td><td>", page.text))
    assert principals == {"analyst-peugeot"}
    logins = client.get("/audit?kind=login")
    kinds = set(re.findall(r"UTC</td><td>([a-z_]+)</td>", logins.text))
    assert kinds == {"login"}
    refused = client.get("/audit?principal=fleet-health")
    assert refused.status_code == 403 and "data protection officer" in refused.text
    assert client.get("/audit?kind=Not-A-Kind").status_code == 400


def test_the_officer_sees_everyone_and_can_page(client: TestClient, console: Console) -> None:
    sign_in(client, console, "dpo-eu")
    first = client.get("/audit")
    principals = set(re.findall(r"</td><td>[a-z_]+</td>\s*<td>([^<]+)</td><td>", first.text))
    assert len(principals) > 1
    older = re.search(r'href="(/audit\?offset=\d+&amp;seen=\d+)" rel="next"', first.text)
    assert older is not None
    second = client.get(html.unescape(older.group(1)))
    seqs = [int(s) for s in re.findall(r'<tr><td class="num">(\d+)</td>', first.text)]
    more = [int(s) for s in re.findall(r'<tr><td class="num">(\d+)</td>', second.text)]
    assert len(seqs) == 50 and more and max(more) < min(seqs)
    assert 'rel="prev"' in second.text


def test_a_tampered_log_is_reported_not_verified(console: Console, tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(console.settings.data_dir, copy)
    log = copy / "audit" / "log.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"purpose":"', b'"purpose":"x', 1)
    log.write_bytes(b"".join(lines))
    with console.client(data_dir=copy) as client:
        sign_in(client, console, "dpo-eu")
        page = client.get("/audit")
    assert page.status_code == 200
    assert "<strong>Not verified.</strong>" in page.text and 'role="alert"' in page.text
    assert "altered" in page.text


def test_unknown_pages_and_the_api_keep_their_own_errors(fleet_health: TestClient) -> None:
    page = fleet_health.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no page at /no/such/page." in page.text
    assert ">fleet-health</strong>" in page.text  # signed in: the layout still shows who
    api = fleet_health.get("/api/v1/no-such-route")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    assert fleet_health.get("/?top=0").status_code == 422


def test_static_files_are_served(client: TestClient) -> None:
    css = client.get("/static/console.css")
    assert css.status_code == 200 and ":focus-visible" in css.text
    js = client.get("/static/console.js")
    assert js.status_code == 200 and "X-CSRF-Token" in js.text


def test_every_input_has_a_label(fleet_health: TestClient) -> None:
    top = re.findall(r'href="/vehicles/([^"]+)"', fleet_health.get("/").text)[0]
    for path in ("/", f"/vehicles/{top}", "/audit"):
        text = fleet_health.get(path).text
        fields = re.findall(r'<(?:input|select)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"', text)
        unlabelled = [f for f in fields if f'<label for="{f}">' not in text]
        assert fields and not unlabelled, (path, unlabelled)
        assert '<a class="skip-link" href="#main">' in text and '<main id="main"' in text
        assert "<header" in text and '<nav aria-label="Main">' in text


def test_an_unexpected_failure_is_a_page_without_internals(
    fleet_health: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret internals /srv/data")

    monkeypatch.setattr("drivetrain.api.routers.health.fleet_overview", broken)
    page = fleet_health.get("/")
    assert page.status_code == 500 and "Something went wrong" in page.text
    assert "secret internals" not in page.text and "Request id" in page.text
    api = fleet_health.get("/api/v1/health/overview")
    assert api.status_code == 500 and api.json()["code"] == "internal-error"


def test_the_nav_lists_the_pages_that_exist() -> None:
    from drivetrain.web import warranty
    from drivetrain.web.app import PAGE_ROUTERS
    from drivetrain.web.nav import NAV, served_nav

    assert served_nav(PAGE_ROUTERS) == NAV  # every page of the nav is served
    without = tuple(r for r in PAGE_ROUTERS if r is not warranty.router)
    assert [i.label for i in served_nav(without)] == [i.label for i in NAV if i.path != "/warranty"]

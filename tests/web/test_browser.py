"""The console in a real headless Chromium (Debian's), against the app under uvicorn.

Playwright drives ``/usr/bin/chromium`` (its own browser builds are not used and
never downloaded). Without that binary the tests are skipped with the reason,
unless ``CI=true``, where they fail: CI must not go green by skipping them
(``.ci/run`` installs it). Screenshots go to ``tests/artifacts/web/``.
Every page must load without a console error, so a Content-Security-Policy
violation (an inline style or script) fails the test that caused it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Console

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"
VIEWPORT = {"width": 1366, "height": 768}


def require_chromium() -> None:
    """Skip when Debian's Chromium is missing; fail instead when ``CI=true``."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason}; CI=true requires the browser tests to run")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    context.close()
    # the refusal pages answer 403/404 on purpose, and Chromium logs those as errors
    unexpected = [e for e in errors if "status of 403" not in e and "status of 404" not in e]
    assert not unexpected, f"console errors (a CSP violation?): {unexpected}"


def shot(tab: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def sign_in(tab: Any, console: Console, principal: str, path: str = "/") -> Any:
    response = tab.goto(path)
    assert "/login" in tab.url
    tab.get_by_label("Principal").fill(principal)
    tab.get_by_label("Password").fill(console.passwords[principal])
    with tab.expect_navigation():
        tab.get_by_role("button", name="Sign in").click()
    return response


def test_fleet_to_vehicle_to_diagnosis_to_explanation(page: Any, console: Console) -> None:
    sign_in(page, console, "fleet-health")
    assert page.url.endswith("/")
    fleet_map = page.get_by_test_id("market-map")
    assert fleet_map.is_visible() and fleet_map.bounding_box()["width"] > 800
    markets = page.locator("#market-table tbody tr").count()
    assert page.locator("svg.world g.bubble").count() == markets > 0
    ranking = page.locator("#ranking")
    assert ranking.is_visible() and page.locator("#ranking tbody tr").count() >= 10
    assert int(page.get_by_test_id("kpi-vehicles").inner_text()) > 0
    shot(page, "fleet")

    first = page.locator("#ranking tbody a").first
    vehicle_id = first.inner_text()
    first.click()
    page.wait_for_url(f"**/vehicles/{vehicle_id}")
    assert page.locator("svg.signal-chart").first.is_visible()
    assert page.locator("svg.signal-chart polyline").count() > 0
    assert page.locator("#dtcs tbody tr").count() >= 1
    shot(page, "vehicle")

    page.select_option("#signal", ["Vehicle.Speed"])
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r".*signal=Vehicle\.Speed.*"))
    assert page.locator("figure.chart").count() == 1
    assert page.locator("figure.chart").get_attribute("data-signal") == "Vehicle.Speed"

    page.get_by_role("button", name="Diagnose").click()
    page.wait_for_selector("#causes")
    action = page.get_by_test_id("action").inner_text()
    assert action in {"Stop safely", "Book service", "Drive on"}
    assert page.locator("#causes > li").count() >= 1
    shot(page, "diagnosis")

    page.locator("#explain-link").click()
    page.wait_for_url(re.compile(r".*/explain/out-[0-9a-f]{32}$"))
    assert "Verified" in page.get_by_test_id("verified").inner_text()
    provenance = page.locator("#provenance").inner_text()
    assert "fleet-health" in provenance and "vehicle_health" in provenance
    assert page.locator("#inputs").inner_text().count("telemetry") == 1
    shot(page, "explain")


def test_a_user_without_the_role_is_refused_with_the_rule(page: Any, console: Console) -> None:
    sign_in(page, console, "warranty")
    response = page.goto("/")
    assert response.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "Not allowed"
    detail = page.get_by_test_id("problem-detail").inner_text()
    assert "warranty_engineer" in detail and "telemetry" in detail
    shot(page, "refused")
    # the audit page is still theirs to read
    page.get_by_role("link", name="Audit").first.click()
    page.wait_for_url("**/audit")
    assert page.get_by_test_id("audit-status").inner_text().startswith("Verified")


def test_keyboard_reaches_the_form_and_enter_signs_in(page: Any, console: Console) -> None:
    page.goto("/login")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"  # the first stop, shown when focused
    assert page.locator(".skip-link").bounding_box()["y"] >= 0
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "principal":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "principal"
    page.keyboard.type("fleet-health")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(console.passwords["fleet-health"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/") and page.get_by_test_id("principal").inner_text() == (
        "fleet-health"
    )
    # the skip link takes the keyboard past the nav to the page's content
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    shot(page, "keyboard-signed-in")


def test_scripts_send_the_csrf_token_and_sign_out_works(page: Any, console: Console) -> None:
    sign_in(page, console, "analyst-peugeot", "/audit")
    query = {"sql": "SELECT count(*) AS n FROM telemetry", "purpose": "vehicle_health"}
    with_token = page.evaluate(
        "q => window.drivetrain.postJSON('/api/v1/lake/query', q).then(r => r.status)", query
    )
    assert with_token == 200
    without = page.evaluate(
        """q => fetch('/api/v1/lake/query', {method: 'POST', body: JSON.stringify(q),
             headers: {'Content-Type': 'application/json'}}).then(r => r.status)""",
        query,
    )
    assert without == 403
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert "/login" in page.url
    assert page.goto("/audit").url.endswith("/login?next=/audit")


def test_the_sandbox_in_a_real_browser(page: Any, console: Console) -> None:
    sign_in(page, console, "cockpit-engineer", "/cockpit")
    page.get_by_role("button", name="Open a new conversation").click()
    page.wait_for_selector("#say-form")
    page.get_by_label("Utterance").fill("set the temperature to 23 degrees")
    with page.expect_navigation():
        page.get_by_role("button", name="Say it").click()
    assert "23 °C" in page.locator("#transcript").inner_text()
    page.get_by_label("Driving", exact=True).check()
    page.get_by_label("Utterance").fill("move my seat back")
    with page.expect_navigation():
        page.get_by_role("button", name="Say it").click()
    last = page.locator("#transcript li").last
    assert last.get_attribute("data-kind") == "refused"
    shot(page, "cockpit")

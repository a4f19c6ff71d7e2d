"""Signing in and out of the console: the form, its CSRF tokens, redirects, the rate limit."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from drivetrain.web.session import safe_next
from tests.web.conftest import Console, login_token, sign_in


def _set_cookies(response: object) -> list[str]:
    return response.headers.get_list("set-cookie")  # type: ignore[attr-defined,no-any-return]


def test_the_form_sets_a_strict_httponly_login_token(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert 'for="principal"' in page.text and 'for="password"' in page.text
    (cookie,) = [c for c in _set_cookies(page) if c.startswith("dt_login_csrf=")]
    value = cookie.split(";")[0].split("=", 1)[1]
    assert len(value) >= 40 and f'value="{value}"' in page.text
    attributes = cookie.lower()
    assert "httponly" in attributes and "samesite=strict" in attributes
    assert "path=/login" in attributes
    assert page.headers["cache-control"] == "no-store"


def test_sign_in_opens_a_session_and_goes_on_to_next(client: TestClient, console: Console) -> None:
    token = login_token(client)
    answer = client.post(
        "/login",
        data={
            "principal": "fleet-health",
            "password": console.passwords["fleet-health"],
            "csrf_token": token,
            "next": "/audit?kind=login",
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/audit?kind=login"
    session = [c for c in _set_cookies(answer) if c.startswith("dt_session=")]
    assert session and "httponly" in session[0].lower()
    page = client.get("/audit?kind=login")
    assert page.status_code == 200 and "Signed in as" in page.text
    assert ">fleet-health</strong>" in page.text
    # already signed in: the form sends you straight on
    again = client.get("/login?next=/audit")
    assert again.status_code == 303 and again.headers["location"] == "/audit"


def test_a_wrong_password_shows_the_form_again_with_the_error(
    client: TestClient, console: Console
) -> None:
    token = login_token(client)
    answer = client.post(
        "/login",
        data={"principal": "fleet-health", "password": "not-it", "csrf_token": token},
    )
    assert answer.status_code == 401
    assert 'role="alert"' in answer.text and "password is wrong" in answer.text
    assert 'value="fleet-health"' in answer.text  # the principal is kept, the password not
    assert not [c for c in _set_cookies(answer) if c.startswith("dt_session=")]
    assert client.get("/").status_code == 303


@pytest.mark.parametrize("token", ["", "forged-token"])
def test_a_post_without_the_forms_token_is_refused(
    client: TestClient, console: Console, token: str
) -> None:
    login_token(client)  # the cookie is set, but the field does not match it
    answer = client.post(
        "/login",
        data={
            "principal": "fleet-health",
            "password": console.passwords["fleet-health"],
            "csrf_token": token,
        },
    )
    assert answer.status_code == 403 and "did not come from this site" in answer.text
    assert not [c for c in _set_cookies(answer) if c.startswith("dt_session=")]


def test_a_post_without_the_cookie_is_refused(client: TestClient, console: Console) -> None:
    token = login_token(client)
    client.cookies.clear()  # as from a page on another site: no SameSite=Strict cookie
    answer = client.post(
        "/login",
        data={
            "principal": "fleet-health",
            "password": console.passwords["fleet-health"],
            "csrf_token": token,
        },
    )
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/%0d%0aLocation: x",
        "javascript:alert(1)",
        "evil.example",
        "/login?next=//evil.example",
    ],
)
def test_next_never_leaves_the_site(client: TestClient, console: Console, target: str) -> None:
    token = login_token(client)
    answer = client.post(
        "/login",
        data={
            "principal": "fleet-health",
            "password": console.passwords["fleet-health"],
            "csrf_token": token,
            "next": target,
        },
    )
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert not urlsplit(location).netloc and "\r" not in location and "\n" not in location
    if safe_next(target) == "/":
        assert location == "/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/vehicles/veh_1?signal=Vehicle.Speed", "/vehicles/veh_1?signal=Vehicle.Speed"),
        ("/audit", "/audit"),
        (None, "/"),
        ("", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/a\nb", "/"),
        ("https://evil.example/x", "/"),
        ("/login", "/"),
        ("/" + "a" * 3000, "/"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_pages_send_the_signed_out_to_the_form_and_back(
    client: TestClient, console: Console
) -> None:
    answer = client.get("/vehicles/veh_x?signal=Vehicle.Speed")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/vehicles/veh_x%3Fsignal%3DVehicle.Speed"
    form = client.get(answer.headers["location"])
    assert 'name="next" value="/vehicles/veh_x?signal=Vehicle.Speed"' in form.text
    for path in ("/", "/audit", "/explain/out-" + "0" * 32):
        assert client.get(path).status_code == 303
    # a form post when signed out goes to the form, not to a page that only takes posts
    posted = client.post("/vehicles/veh_x/diagnosis", data={"csrf_token": "x"})
    assert posted.status_code == 303 and posted.headers["location"] == "/login"


def test_a_stale_session_cookie_is_dropped(client: TestClient) -> None:
    client.cookies.set("dt_session", "not-a-session")
    answer = client.get("/audit")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert any(c.startswith('dt_session=""') for c in _set_cookies(answer))


def test_sign_out_needs_the_csrf_token_and_ends_the_session(
    client: TestClient, console: Console
) -> None:
    csrf = sign_in(client, console, "analyst-peugeot")
    refused = client.post("/logout", data={})
    assert refused.status_code == 403 and "csrf-failed" in refused.text
    assert client.get("/audit").status_code == 200  # still signed in
    out = client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/audit").status_code == 303


def test_too_many_attempts_are_refused_with_429(console: Console) -> None:
    with console.client(login_rate="3/minute") as client:
        for _ in range(3):
            token = login_token(client)
            wrong = client.post(
                "/login", data={"principal": "parts", "password": "nope", "csrf_token": token}
            )
            assert wrong.status_code == 401
        token = login_token(client)
        right = client.post(
            "/login",
            data={
                "principal": "parts",
                "password": console.passwords["parts"],
                "csrf_token": token,
            },
        )
    assert right.status_code == 429
    assert int(right.headers["retry-after"]) >= 1
    assert "Too many sign-in attempts" in right.text and 'role="alert"' in right.text

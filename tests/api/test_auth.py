"""Signing in, API keys with scopes, console sessions with CSRF, OIDC bearer tokens."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from drivetrain.governance.audit import AuditLog
from drivetrain.governance.identity import (
    authenticate_api_key,
    check_password,
    issue_api_key,
    set_password,
)
from drivetrain.state import session_scope
from tests.api.conftest import DemoServer, login

PROBLEM = "application/problem+json"


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code and body["status"] == status
    assert body["type"].endswith("/" + code)
    return dict(body)


# -- passwords ------------------------------------------------------------------------------


def test_passwords_are_argon2id_and_checked(demo_server: DemoServer) -> None:
    url = demo_server.settings.resolved_state_url
    with session_scope(url) as session:
        set_password(session, "parts", "correct horse battery")
    with session_scope(url) as session:
        from drivetrain.state.identity_models import PasswordRow

        stored = session.get(PasswordRow, "parts")
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        assert "correct horse" not in stored.password_hash
        assert check_password(session, "parts", "correct horse battery")
        assert not check_password(session, "parts", "correct horse batterY")
        assert not check_password(session, "nobody", "correct horse battery")
    # put the fixture's password back for the other tests
    with session_scope(url) as session:
        set_password(session, "parts", demo_server.passwords["parts"])


def test_short_password_is_refused(demo_server: DemoServer) -> None:
    from drivetrain.errors import InputError

    url = demo_server.settings.resolved_state_url
    with session_scope(url) as session, pytest.raises(InputError, match="12 to 1024 characters"):
        set_password(session, "parts", "short")


def test_login_sets_an_httponly_session_and_me_answers(
    client: TestClient, demo_server: DemoServer
) -> None:
    response = client.post(
        "/api/v1/auth/login",
        json={"principal": "analyst-peugeot", "password": demo_server.passwords["analyst-peugeot"]},
    )
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "dt_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = client.get("/api/v1/auth/me").json()
    assert me["principal"] == "analyst-peugeot" and me["auth"] == "session"
    assert me["brands"] == ["Peugeot"] and me["csrf_token"]
    client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": me["csrf_token"]})
    _problem(client.get("/api/v1/auth/me"), 401, "unauthenticated")


def test_wrong_password_and_unknown_user_look_the_same(
    client: TestClient, demo_server: DemoServer
) -> None:
    wrong = client.post("/api/v1/auth/login", json={"principal": "warranty", "password": "x" * 12})
    unknown = client.post("/api/v1/auth/login", json={"principal": "ghost", "password": "x" * 12})
    assert (
        _problem(wrong, 401, "unauthenticated")["detail"]
        == _problem(unknown, 401, "unauthenticated")["detail"]
    )
    logins = AuditLog(demo_server.settings.data_dir).entries("login")
    assert [e.details["ok"] for e in logins[-2:]] == [False, False]
    assert all("x" * 12 not in json.dumps(e.details) for e in logins)  # no password logged


def test_login_is_rate_limited_per_user(demo_server: DemoServer) -> None:
    with demo_server.client(login_rate="3/minute") as client:
        for _ in range(3):
            _problem(
                client.post(
                    "/api/v1/auth/login", json={"principal": "engineer", "password": "bad"}
                ),
                401,
                "unauthenticated",
            )
        # the right password no longer helps: the user is over the rate
        right = {"principal": "engineer", "password": demo_server.passwords["engineer"]}
        refused = client.post("/api/v1/auth/login", json=right)
        _problem(refused, 429, "rate-limited")
        assert int(refused.headers["retry-after"]) >= 1


def test_csrf_token_is_required_for_cookie_writes(
    client: TestClient, demo_server: DemoServer
) -> None:
    csrf = login(client, demo_server, "fleet-health")
    query = {"sql": "SELECT 1 AS one", "purpose": "vehicle_health"}
    _problem(client.post("/api/v1/lake/query", json=query), 403, "csrf-failed")
    wrong = client.post("/api/v1/lake/query", json=query, headers={"X-CSRF-Token": "x" + csrf})
    _problem(wrong, 403, "csrf-failed")
    ok = client.post("/api/v1/lake/query", json=query, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["rows"] == [[1]]


# -- API keys -------------------------------------------------------------------------------


def test_api_key_scopes_narrow_what_a_principal_may_do(
    client: TestClient, demo_server: DemoServer
) -> None:
    token = demo_server.key("fleet-health", "fleet:read")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/fleet/vehicles", headers=headers).status_code == 200
    body = _problem(
        client.get("/api/v1/health/overview", headers=headers), 403, "insufficient-scope"
    )
    assert "health:read" in body["detail"]


def test_write_scope_implies_read_and_star_is_everything(demo_server: DemoServer) -> None:
    url = demo_server.settings.resolved_state_url
    with session_scope(url) as session:
        key, _ = issue_api_key(session, "fleet-health", ["health:write"])
        star, _ = issue_api_key(session, "fleet-health", ["*"])
    assert key.allows("health:read") and key.allows("health:write")
    assert not key.allows("fleet:read")
    assert star.allows("quality:write")


def test_revoked_expired_and_tampered_keys_are_refused(
    client: TestClient, demo_server: DemoServer
) -> None:
    url = demo_server.settings.resolved_state_url
    with session_scope(url) as session:
        _, expired = issue_api_key(
            session, "fleet-health", ["*"], expires_in=timedelta(microseconds=1)
        )
    time.sleep(0.01)
    token = demo_server.key("fleet-health", "*")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (expired, tampered, "dtk_nothing", token.replace("dtk_", "dtx_")):
        response = client.get("/api/v1/fleet/vehicles", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
    with session_scope(url) as session:
        assert authenticate_api_key(session, token) is not None
    csrf = login(client, demo_server, "fleet-health")
    key_id = token.split("_")[1]
    # only the key's owner revokes it, from a signed-in session
    revoked = client.delete(f"/api/v1/auth/keys/{key_id}", headers={"X-CSRF-Token": csrf})
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    client.cookies.clear()
    response = client.get("/api/v1/fleet/vehicles", headers={"Authorization": f"Bearer {token}"})
    _problem(response, 401, "unauthenticated")


def test_keys_are_created_by_people_and_shown_once(
    client: TestClient, demo_server: DemoServer
) -> None:
    csrf = login(client, demo_server, "quality")
    made = client.post(
        "/api/v1/auth/keys",
        json={"scopes": ["quality:read"], "label": "line dashboard"},
        headers={"X-CSRF-Token": csrf},
    )
    assert made.status_code == 201
    token = made.json()["token"]
    listed = client.get("/api/v1/auth/keys").json()
    assert made.json()["key_id"] in {k["key_id"] for k in listed}
    assert all("token" not in k for k in listed)
    client.cookies.clear()
    # a key cannot mint another key
    headers = {"Authorization": f"Bearer {token}"}
    _problem(client.post("/api/v1/auth/keys", json={"scopes": ["*"]}, headers=headers), 403,
             "forbidden")  # fmt: skip
    _problem(
        client.post(
            "/api/v1/auth/keys", json={"scopes": ["nonsense"]}, headers={"X-CSRF-Token": csrf}
        ),
        401,
        "unauthenticated",
    )
    login(client, demo_server, "quality")
    me = client.get("/api/v1/auth/me").json()
    bad = client.post(
        "/api/v1/auth/keys",
        json={"scopes": ["nonsense"]},
        headers={"X-CSRF-Token": me["csrf_token"]},
    )
    assert _problem(bad, 400, "input-error")["hint"].startswith("scopes are")
    assert any(
        e.details.get("action") == "api_key_created"
        for e in AuditLog(demo_server.settings.data_dir).entries("admin")
    )


def test_every_request_is_in_the_audit_log(client: TestClient, demo_server: DemoServer) -> None:
    token = demo_server.key("analyst-peugeot", "fleet:read")
    response = client.get(
        "/api/v1/fleet/vehicles?purpose=vehicle_health",
        headers={"Authorization": f"Bearer {token}"},
    )
    request_id = response.headers["x-request-id"]
    client.get("/api/v1/fleet/vehicles")  # anonymous, refused: logged too
    services = client.app.state.services  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        mine = [
            e
            for e in AuditLog(demo_server.settings.data_dir).entries("api_request")
            if e.details.get("request_id") == request_id
        ]
        if mine:
            break
        time.sleep(0.05)
    assert services is not None and len(mine) == 1
    entry = mine[0]
    assert entry.principal == "analyst-peugeot" and entry.purpose == "vehicle_health"
    assert entry.details["status"] == 200 and entry.details["auth"] == "api_key"
    assert entry.details["route"] == "/api/v1/fleet/vehicles"


# -- OIDC -----------------------------------------------------------------------------------


class _Issuer:
    """A real HTTP server on loopback publishing a JWKS, and the keys to sign tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(jwks.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key: Any = None, algorithm: str = "RS256", **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": "https://idp.example",
            "aud": "drivetrain",
            "sub": "warranty",
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.key, algorithm=algorithm, headers={"kid": "k1"})


@pytest.fixture(scope="module")
def issuer() -> Iterator[_Issuer]:
    found = _Issuer()
    yield found
    found.server.shutdown()


@pytest.fixture
def oidc_client(demo_server: DemoServer, issuer: _Issuer) -> Iterator[TestClient]:
    with demo_server.client(
        oidc_issuer="https://idp.example", oidc_audience="drivetrain", oidc_jwks_url=issuer.url
    ) as client:
        yield client


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_oidc_token_signs_in_as_the_principal_it_names(
    oidc_client: TestClient, issuer: _Issuer
) -> None:
    me = oidc_client.get("/api/v1/auth/me", headers=_as(issuer.token()))
    assert me.status_code == 200, me.text
    assert me.json()["principal"] == "warranty" and me.json()["auth"] == "oidc"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"aud": "another-app"}, "audience"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"exp": None}, "exp"),
    ],
)
def test_oidc_refuses_bad_claims(
    oidc_client: TestClient, issuer: _Issuer, change: dict[str, Any], fragment: str
) -> None:
    response = oidc_client.get("/api/v1/auth/me", headers=_as(issuer.token(**change)))
    assert fragment in _problem(response, 401, "invalid-token")["detail"].lower()


def test_oidc_refuses_forged_tokens(oidc_client: TestClient, issuer: _Issuer) -> None:
    forged = issuer.token(key=issuer.other)  # right kid, wrong key
    _problem(oidc_client.get("/api/v1/auth/me", headers=_as(forged)), 401, "invalid-token")
    public_pem = issuer.key.public_key().public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "kid": "k1"}).encode())
    body = jwt.utils.base64url_encode(
        json.dumps({"iss": "https://idp.example", "aud": "drivetrain", "sub": "dpo-eu",
                    "iat": int(time.time()), "exp": int(time.time()) + 60}).encode()
    )  # fmt: skip
    unsigned = f"{header.decode()}.{body.decode()}."
    for token in (unsigned, _hmac_with_public_key(public_pem)):
        _problem(oidc_client.get("/api/v1/auth/me", headers=_as(token)), 401, "invalid-token")


def _hmac_with_public_key(public_pem: bytes) -> str:
    """The classic key-confusion forgery: HS256 keyed with the issuer's public key."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    head = b64(json.dumps({"alg": "HS256", "kid": "k1", "typ": "JWT"}).encode())
    claims = {"iss": "https://idp.example", "aud": "drivetrain", "sub": "dpo-eu", "iat": now,
              "exp": now + 60}  # fmt: skip
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def test_oidc_token_for_an_unknown_principal_is_refused(
    oidc_client: TestClient, issuer: _Issuer
) -> None:
    response = oidc_client.get("/api/v1/auth/me", headers=_as(issuer.token(sub="mallory")))
    assert "mallory" in _problem(response, 401, "unauthenticated")["detail"]


def test_jwt_without_oidc_configured_says_how_to_configure_it(
    client: TestClient, issuer: _Issuer
) -> None:
    body = _problem(client.get("/api/v1/auth/me", headers=_as(issuer.token())), 401,
                    "unauthenticated")  # fmt: skip
    assert "oidc_issuer" in body["hint"]

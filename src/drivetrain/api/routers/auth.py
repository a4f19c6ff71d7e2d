"""``/api/v1/auth``: sign in and out, who am I, my API keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from drivetrain.api.auth import SESSION_COOKIE, Caller, authenticate, services_of
from drivetrain.api.login import LoginGate, sign_in
from drivetrain.api.problems import PROBLEM_RESPONSES, ApiProblem
from drivetrain.governance.identity import (
    ApiKey,
    close_session,
    issue_api_key,
    list_api_keys,
    revoke_api_key,
)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=PROBLEM_RESPONSES)
CallerDep = Annotated[Caller, Depends(authenticate)]


class LoginRequest(BaseModel):
    principal: str = Field(min_length=1, max_length=128, examples=["fleet-health"])
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    principal: str
    kind: str
    roles: list[str]
    brands: list[str]
    regions: list[str]
    country: str
    auth: str = Field(description="session, api_key or oidc")
    scopes: list[str] | None = Field(description="The API key's scopes; null: every scope.")
    csrf_token: str | None = Field(
        default=None, description="For a console session: send it as X-CSRF-Token on writes."
    )
    expires_at: datetime | None = None


def _me(caller: Caller) -> Me:
    p = caller.principal
    return Me(
        principal=p.principal_id,
        kind=p.kind,
        roles=list(p.roles),
        brands=list(p.attributes.brands),
        regions=list(p.attributes.regions),
        country=p.attributes.country,
        auth=caller.method,
        scopes=list(caller.key.scopes) if caller.key else None,
        csrf_token=caller.session.csrf_token if caller.session else None,
        expires_at=caller.session.expires_at if caller.session else None,
    )


@router.post("/login", response_model=Me, summary="Sign in with a password (sets a cookie)")
def login(body: LoginRequest, request: Request, response: Response) -> Me:
    gate: LoginGate = request.app.state.login_gate
    caller = sign_in(request, response, gate, body.principal, body.password)
    return _me(caller)


@router.post("/logout", status_code=204, summary="End the console session")
def logout(request: Request, response: Response) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with services_of(request).session() as session:
            close_session(session, token)
        services_of(request).forget_credentials()
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=Me, summary="Who this request runs as")
def me(caller: CallerDep) -> Me:
    return _me(caller)


class KeyRequest(BaseModel):
    scopes: list[str] = Field(min_length=1, max_length=32, examples=[["fleet:read"]])
    label: str = Field(default="", max_length=128)
    expires_in_days: int | None = Field(default=90, ge=1, le=3650)


class KeyOut(BaseModel):
    key_id: str
    principal: str
    label: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class NewKey(KeyOut):
    token: str = Field(description="The key itself: shown once, store it now.")


def _key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        key_id=key.key_id,
        principal=key.principal_id,
        label=key.label,
        scopes=list(key.scopes),
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


def _not_a_key(caller: Caller) -> None:
    # A key cannot mint keys: a leaked key must not be able to outlive its revocation.
    if caller.key is not None:
        raise ApiProblem(
            403, "forbidden", "API keys are managed by a signed-in person, not by another key"
        )


@router.get("/keys", response_model=list[KeyOut], summary="My API keys")
def keys(caller: CallerDep, request: Request) -> list[KeyOut]:
    with services_of(request).session() as session:
        return [_key_out(k) for k in list_api_keys(session, caller.principal_id)]


@router.post("/keys", response_model=NewKey, status_code=201, summary="Create an API key")
def create_key(body: KeyRequest, caller: CallerDep, request: Request) -> NewKey:
    _not_a_key(caller)
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    with services_of(request).session() as session:
        key, token = issue_api_key(
            session, caller.principal_id, body.scopes, label=body.label, expires_in=expires
        )
    services_of(request).audit.append(
        "admin",
        principal=caller.principal_id,
        purpose="unspecified",
        details={"action": "api_key_created", "key_id": key.key_id, "scopes": list(key.scopes)},
    )
    return NewKey(**_key_out(key).model_dump(), token=token)


@router.delete("/keys/{key_id}", response_model=KeyOut, summary="Revoke one of my API keys")
def revoke_key(key_id: str, caller: CallerDep, request: Request) -> KeyOut:
    _not_a_key(caller)
    services = services_of(request)
    with services.session() as session:
        mine = {k.key_id for k in list_api_keys(session, caller.principal_id)}
        if key_id not in mine:
            raise ApiProblem(404, "not-found", f"you have no API key {key_id!r}")
        key = revoke_api_key(session, key_id)
    services.forget_credentials()
    services.audit.append(
        "admin",
        principal=caller.principal_id,
        purpose="unspecified",
        details={
            "action": "api_key_revoked",
            "key_id": key_id,
            "at": datetime.now(UTC).isoformat(),
        },
    )
    return _key_out(key)

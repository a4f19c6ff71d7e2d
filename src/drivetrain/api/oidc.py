"""OIDC bearer tokens: a JWT checked against the configured issuer's signing keys (JWKS).

Validation is PyJWT's (``jwt.decode``) with the key PyJWT's ``PyJWKClient``
fetches from ``oidc_jwks_url`` and caches. Only asymmetric algorithms are
accepted (never ``none`` nor an HMAC whose secret would be the public key);
``iss``, ``aud``, ``exp`` and ``iat`` are required, with 30 s of clock leeway.
"""

from __future__ import annotations

import jwt
from jwt import PyJWKClient

from drivetrain.api.problems import ApiProblem
from drivetrain.errors import ConfigError
from drivetrain.settings import Settings

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
LEEWAY_S = 30
MAX_TOKEN = 16384


class OidcVerifier:
    """Checks access tokens of one issuer and names their principal."""

    def __init__(self, issuer: str, audience: str, jwks_url: str, principal_claim: str) -> None:
        self.issuer, self.audience, self.claim = issuer, audience, principal_claim
        self._jwks = PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=10)

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcVerifier | None:
        values = (settings.oidc_issuer, settings.oidc_audience, settings.oidc_jwks_url)
        if not any(values):
            return None
        issuer, audience, jwks_url = values
        if not (issuer and audience and jwks_url):
            raise ConfigError(
                "OIDC needs all of oidc_issuer, oidc_audience and oidc_jwks_url",
                hint="set the three together, or none of them",
            )
        return cls(issuer, audience, jwks_url, settings.oidc_principal_claim)

    def principal_of(self, token: str) -> str:
        """The principal id of a valid token; a 401 problem says what is wrong otherwise."""
        if len(token) > MAX_TOKEN:
            raise _invalid("the token is too long")
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid("the token has expired", hint="get a new one from the issuer") from None
        except jwt.PyJWKClientConnectionError:
            raise ApiProblem(
                503, "oidc-unavailable", "the OIDC issuer's keys cannot be fetched now"
            ) from None
        except jwt.PyJWTError as exc:
            raise _invalid(f"the token is not valid: {exc}") from None
        principal = claims.get(self.claim)
        if not isinstance(principal, str) or not principal:
            raise _invalid(f"the token has no {self.claim!r} claim naming a principal")
        return principal


def _invalid(detail: str, hint: str | None = None) -> ApiProblem:
    return ApiProblem(
        401,
        "invalid-token",
        detail,
        hint=hint,
        headers={"WWW-Authenticate": 'Bearer realm="drivetrain", error="invalid_token"'},
    )

"""Principals: the people and services that read or write vehicle data.

A principal has roles (what it may do, granted by the access policy) and
attributes (where it may do it): the brands whose vehicles it works on, the
governance regions it is scoped to, and the country it operates from (for data
residency, e.g. China's PIPL). Every principal must carry all three attributes:
an unscoped principal would be either useless or dangerous, so it is refused.

Until the control-plane store holds principals, they live in a TOML or JSON
file in the data directory::

    [[principal]]
    id = "alice"
    kind = "user"              # user | service
    roles = ["fleet_analyst"]
    brands = ["Fiat"]          # as in the fleet registry; or ["*"] for every brand
    regions = ["eu"]           # eu, us, cn, kr, ca, or ["*"]
    country = "DE"             # ISO 3166-1 alpha-2

(JSON: ``{"principal": [{...}, ...]}``.)
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from drivetrain.errors import InputError, NotFound

PrincipalKind = Literal["user", "service"]

#: Governance regions a principal can be scoped to ("*" = all of them).
REGIONS: frozenset[str] = frozenset({"eu", "us", "cn", "kr", "ca"})

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_KINDS: tuple[PrincipalKind, ...] = ("user", "service")


@dataclass(frozen=True, slots=True)
class PrincipalAttributes:
    """Where a principal may act: brands, governance regions and its own country."""

    brands: tuple[str, ...]
    regions: tuple[str, ...]
    country: str

    def covers_brand(self, brand: str) -> bool:
        wanted = brand.casefold()
        return any(b == "*" or b.casefold() == wanted for b in self.brands)

    def covers_region(self, region: str) -> bool:
        return "*" in self.regions or region in self.regions


@dataclass(frozen=True, slots=True)
class Principal:
    """A user or service with roles (what) and attributes (where)."""

    principal_id: str
    kind: PrincipalKind
    roles: tuple[str, ...]
    attributes: PrincipalAttributes

    @classmethod
    def of(
        cls,
        principal_id: str,
        *,
        kind: str = "user",
        roles: Iterable[str],
        brands: Iterable[str],
        regions: Iterable[str],
        country: str,
    ) -> Principal:
        """Build and validate a principal in code (raises InputError like the loader)."""
        return principal_from_mapping(
            {
                "id": principal_id,
                "kind": kind,
                "roles": list(roles),
                "brands": list(brands),
                "regions": list(regions),
                "country": country,
            },
            where="code",
        )


def load_principals(path: Path) -> dict[str, Principal]:
    """Read and validate the principals of a ``.toml`` or ``.json`` file, keyed by id."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(
            f"principals file {path} does not exist",
            hint="create it with one [[principal]] table per user or service",
        )
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            document: Any = json.loads(text)
        elif path.suffix == ".toml":
            document = tomllib.loads(text)
        else:
            raise InputError(
                f"principals file {path} must end in .toml or .json, not {path.suffix!r}"
            )
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"principals file {path} does not parse: {exc}") from exc
    entries = document.get("principal") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise InputError(
            f"principals file {path} has no list of principals",
            hint="write one [[principal]] table (TOML) or a 'principal' array (JSON) each",
        )
    principals: dict[str, Principal] = {}
    for index, entry in enumerate(entries, start=1):
        where = f"{path}, principal #{index}"
        if not isinstance(entry, dict):
            raise InputError(f"{where} is not a table of fields")
        principal = principal_from_mapping(entry, where=where)
        if principal.principal_id in principals:
            raise InputError(f"{where}: principal {principal.principal_id!r} is defined twice")
        principals[principal.principal_id] = principal
    return principals


def principal_from_mapping(entry: Mapping[str, Any], *, where: str) -> Principal:
    """Validate one principal's fields; ``where`` says where it came from in errors."""
    principal_id = entry.get("id", entry.get("principal_id"))
    if not isinstance(principal_id, str) or not _ID.match(principal_id):
        raise InputError(
            f"{where}: principal id {principal_id!r} is missing or invalid",
            hint="use letters, digits and _ . : @ - (e.g. 'alice' or 'service:ingest')",
        )
    name = f"{where}: principal {principal_id!r}"
    unknown = sorted(set(entry) - {"id", "principal_id", "kind", "roles", *_ATTRIBUTES})
    if unknown:
        raise InputError(f"{name} has unknown field(s) {', '.join(unknown)}")
    kind = entry.get("kind", "user")
    if kind not in _KINDS:
        raise InputError(f"{name} has kind {kind!r}", hint="kind is 'user' or 'service'")
    roles = _names(entry.get("roles"), f"{name} roles")
    if not roles:
        raise InputError(f"{name} has no roles", hint="give it at least one role of the policy")
    missing = [a for a in _ATTRIBUTES if entry.get(a) in (None, "", [])]
    if missing:
        raise InputError(
            f"{name} has no {', '.join(missing)} attribute(s); "
            "a principal without attributes cannot be scoped and is refused",
            hint='set brands (or ["*"]), regions (or ["*"]) and country (ISO 3166-1 alpha-2)',
        )
    brands = _brands(entry["brands"], f"{name} brands")
    regions = _names(entry["regions"], f"{name} regions", wildcard=True)
    bad_regions = sorted(set(regions) - REGIONS - {"*"})
    if bad_regions:
        raise InputError(
            f"{name} has unknown region(s) {', '.join(bad_regions)}",
            hint=f"regions are {', '.join(sorted(REGIONS))} or *",
        )
    country = entry["country"]
    if not isinstance(country, str) or not _COUNTRY.match(country):
        raise InputError(
            f"{name} has country {country!r}", hint="use an ISO 3166-1 alpha-2 code such as DE"
        )
    return Principal(
        principal_id=principal_id,
        kind=kind,
        roles=roles,
        attributes=PrincipalAttributes(brands=brands, regions=regions, country=country),
    )


_ATTRIBUTES = ("brands", "regions", "country")


def _brands(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{what} must be a list of brand names, got {value!r}")
    bad = [v for v in value if v != "*" and (not v.strip() or any(c in v for c in "*,|"))]
    if bad:
        raise InputError(
            f"{what} has invalid brand(s) {bad!r}", hint="name brands as the fleet does"
        )
    return tuple(dict.fromkeys(v.strip() for v in value))


def _names(value: Any, what: str, *, wildcard: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{what} must be a list of names, got {value!r}")
    bad = [v for v in value if not (_NAME.match(v) or (wildcard and v == "*"))]
    if bad:
        raise InputError(f"{what} has invalid name(s) {bad!r}", hint="use lowercase a-z, 0-9, _ -")
    return tuple(dict.fromkeys(value))


def principal_named(path: Path, principal_id: str) -> Principal:
    """The principal ``principal_id`` of the principals file ``path``; NotFound names the known."""
    principals = load_principals(path)
    if principal_id not in principals:
        raise NotFound(
            f"no principal {principal_id!r} in {path}",
            hint=f"known: {', '.join(sorted(principals))}",
        )
    return principals[principal_id]

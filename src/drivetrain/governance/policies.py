"""Regional data-protection policies, expressed as data (``data/policies/<region>.toml``).

A policy says, for one governance region (``eu``, ``us``, ``cn``, ``kr``,
``ca``):

* ``[purposes.<purpose>]``: for each data category, the legal basis the
  region accepts for collecting it for that purpose. ``"consent"`` means the
  data subject must have given consent; any other basis (``contract``,
  ``legitimate_interest``, ``legal_obligation``) is a *standing* basis that
  applies without a consent record. A purpose × category not listed falls
  back to ``default_basis`` (normally ``"consent"``).
* ``[no_subject]``: what may be collected from a vehicle with no registered
  owner or driver at that moment — the categories and standing bases for
  which nobody's consent can be asked.
* ``[residency]``: the countries whose principals may read the region's data
  (empty: no residency constraint) and the name of the access-control rule
  that enforces it (``rule``, default ``<region>_residency``): access control
  derives its deny rule from here, so residency is stated once.
* ``[rights.<right>]``: the data-subject rights and their deadlines.

Files are validated on load; an unknown region, purpose, category, basis or
key raises :class:`~drivetrain.errors.ConfigError` naming the file and key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, get_args

from drivetrain.catalog.models import DataCategory
from drivetrain.errors import ConfigError, InputError
from drivetrain.governance.purposes import PURPOSES
from drivetrain.state.governance_models import LEGAL_BASES

REGIONS: tuple[str, ...] = ("eu", "us", "cn", "kr", "ca")
DATA_CATEGORIES: tuple[str, ...] = get_args(DataCategory)
STANDING_BASES: tuple[str, ...] = tuple(b for b in LEGAL_BASES if b != "consent")

_TOP_KEYS = frozenset(
    {"region", "name", "laws", "default_basis", "no_subject", "residency", "purposes", "rights"}
)
_NO_SUBJECT_KEYS = frozenset({"categories", "bases"})
_RESIDENCY_KEYS = frozenset({"readable_from", "rule"})
_RIGHT_KEYS = frozenset({"law", "description", "deadline_days", "deadline_note"})


@dataclass(frozen=True, slots=True)
class SubjectRight:
    """A data-subject right of a region and how fast it must be met."""

    name: str
    law: str
    description: str
    deadline_days: int | None
    deadline_note: str = ""


@dataclass(frozen=True, slots=True)
class RegionPolicy:
    """The data-protection rules of one governance region."""

    region: str
    name: str
    laws: tuple[str, ...]
    default_basis: str
    bases: Mapping[tuple[str, str], str]  # (purpose, category) -> legal basis
    no_subject_categories: frozenset[str]
    no_subject_bases: frozenset[str]
    readable_from: frozenset[str]  # ISO countries; empty: anywhere
    residency_rule: str  # the name access control gives the residency rule
    rights: Mapping[str, SubjectRight]
    source: str

    def basis_for(self, purpose: str, category: str) -> str:
        """The legal basis the region accepts for ``category`` under ``purpose``."""
        return self.bases.get((purpose, category), self.default_basis)

    def needs_consent(self, purpose: str, category: str) -> bool:
        return self.basis_for(purpose, category) == "consent"

    def allowed_without_subject(self, purpose: str, category: str) -> bool:
        """Whether data of a vehicle with no registered subject may be collected."""
        return (
            category in self.no_subject_categories
            and self.basis_for(purpose, category) in self.no_subject_bases
        )

    def readable_by(self, country: str) -> bool:
        """Whether a principal operating from ``country`` may read this region's data."""
        return not self.readable_from or country.upper() in self.readable_from


def _fail(source: str, key: str, message: str, hint: str) -> ConfigError:
    return ConfigError(f"{source}: {key}: {message}", hint=hint)


def _table(value: object, source: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(source, key, f"must be a table, got {value!r}", f"write [{key}]")
    return value


def _unknown_keys(
    table: Mapping[str, Any], allowed: frozenset[str], source: str, where: str
) -> None:
    for key in table:
        if key not in allowed:
            raise _fail(
                source,
                f"{where}{key}",
                "unknown key",
                f"keys allowed here: {', '.join(sorted(allowed))}",
            )


def _basis(value: object, source: str, key: str) -> str:
    if value not in LEGAL_BASES:
        raise _fail(
            source, key, f"unknown legal basis {value!r}", f"use one of {', '.join(LEGAL_BASES)}"
        )
    return str(value)


def _strings(value: object, source: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(source, key, f"must be a list of strings, got {value!r}", 'e.g. ["CN"]')
    return tuple(value)


def _category(name: str, source: str, key: str) -> str:
    if name not in DATA_CATEGORIES:
        raise _fail(
            source, key, f"unknown data category {name!r}", f"use {', '.join(DATA_CATEGORIES)}"
        )
    return name


_RULE = re.compile(r"[a-z0-9][a-z0-9_]{0,63}")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _rule_name(value: object, source: str) -> str:
    if not isinstance(value, str) or not _RULE.fullmatch(value):
        raise _fail(
            source,
            "residency.rule",
            f"{value!r} is not a rule name",
            "lower-case letters, digits and _, e.g. pipl_residency",
        )
    return value


def parse_policy(
    data: Mapping[str, Any], source: str, *, expect_region: str | None = None
) -> RegionPolicy:
    """Validate one policy document (already parsed TOML) read from ``source``."""
    _unknown_keys(data, _TOP_KEYS, source, "")
    region = data.get("region")
    if region not in REGIONS:
        raise _fail(source, "region", f"unknown region {region!r}", f"use {', '.join(REGIONS)}")
    if expect_region is not None and region != expect_region:
        raise _fail(
            source, "region", f"{region!r} does not match the file name", f"name it {region}.toml"
        )
    bases: dict[tuple[str, str], str] = {}
    for purpose, rules in _table(data.get("purposes", {}), source, "purposes").items():
        if purpose not in PURPOSES:
            raise _fail(
                source,
                f"purposes.{purpose}",
                "unknown purpose",
                f"known purposes: {', '.join(PURPOSES)}",
            )
        for category, basis in _table(rules, source, f"purposes.{purpose}").items():
            key = f"purposes.{purpose}.{category}"
            bases[(purpose, _category(category, source, key))] = _basis(basis, source, key)
    no_subject = _table(data.get("no_subject", {}), source, "no_subject")
    _unknown_keys(no_subject, _NO_SUBJECT_KEYS, source, "no_subject.")
    ns_categories = frozenset(
        _category(c, source, "no_subject.categories")
        for c in _strings(no_subject.get("categories", []), source, "no_subject.categories")
    )
    ns_bases = frozenset(
        _basis(b, source, "no_subject.bases")
        for b in _strings(no_subject.get("bases", []), source, "no_subject.bases")
    )
    if "consent" in ns_bases:
        raise _fail(
            source,
            "no_subject.bases",
            "consent cannot be a basis when there is no subject to give it",
            f"use standing bases only: {', '.join(STANDING_BASES)}",
        )
    residency = _table(data.get("residency", {}), source, "residency")
    _unknown_keys(residency, _RESIDENCY_KEYS, source, "residency.")
    readable = _strings(residency.get("readable_from", []), source, "residency.readable_from")
    for country in readable:
        if not _COUNTRY.fullmatch(country.upper()):
            raise _fail(
                source,
                "residency.readable_from",
                f"{country!r} is not an ISO 3166-1 alpha-2 country code",
                'e.g. readable_from = ["CN"]',
            )
    rights: dict[str, SubjectRight] = {}
    for name, spec in _table(data.get("rights", {}), source, "rights").items():
        spec = _table(spec, source, f"rights.{name}")
        _unknown_keys(spec, _RIGHT_KEYS, source, f"rights.{name}.")
        days = spec.get("deadline_days")
        if days is not None and (not isinstance(days, int) or days < 0):
            raise _fail(
                source,
                f"rights.{name}.deadline_days",
                f"{days!r} is not a number of days",
                "e.g. 30",
            )
        rights[name] = SubjectRight(
            name=name,
            law=str(spec.get("law", "")),
            description=str(spec.get("description", "")),
            deadline_days=days,
            deadline_note=str(spec.get("deadline_note", "")),
        )
    return RegionPolicy(
        region=str(region),
        name=str(data.get("name", region)),
        laws=_strings(data.get("laws", []), source, "laws"),
        default_basis=_basis(data.get("default_basis", "consent"), source, "default_basis"),
        bases=bases,
        no_subject_categories=ns_categories,
        no_subject_bases=ns_bases,
        readable_from=frozenset(c.upper() for c in readable),
        residency_rule=_rule_name(residency.get("rule", f"{region}_residency"), source),
        rights=rights,
        source=source,
    )


def load_policy_file(path: Path) -> RegionPolicy:
    """Read and validate one policy file; its name must be ``<region>.toml``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the policy file ({exc})") from exc
    return parse_policy(data, str(path), expect_region=path.stem)


@cache
def load_region_policies() -> dict[str, RegionPolicy]:
    """The policies shipped with drivetrain (``drivetrain/governance/data/policies``)."""
    policies: dict[str, RegionPolicy] = {}
    folder = resources.files("drivetrain.governance") / "data" / "policies"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        source = f"drivetrain/governance/data/policies/{entry.name}"
        try:
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML ({exc})") from exc
        policy = parse_policy(data, source, expect_region=entry.name.removesuffix(".toml"))
        policies[policy.region] = policy
    missing = [r for r in REGIONS if r not in policies]
    if missing:
        raise ConfigError(f"no policy file for region(s) {', '.join(missing)}")
    return policies


def region_policy(region: str) -> RegionPolicy:
    """The policy of ``region``; InputError listing the regions if there is none."""
    policies = load_region_policies()
    if region not in policies:
        raise InputError(f"unknown region {region!r}", hint=f"regions: {', '.join(policies)}")
    return policies[region]

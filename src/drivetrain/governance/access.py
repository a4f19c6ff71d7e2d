"""Access control: may this principal, for this purpose, read this table of this vehicle?

The decision is casbin's (https://casbin.org), with the model in
``access_model.conf`` (RBAC with domains + ABAC conditions) and the rules as
data in ``data/access_policy.csv`` (or a file of your own). Roles are granted
per brand (the casbin domain) from each principal's ``brands`` attribute; the
other attributes (regions, country) and the vehicle's region feed the rules'
conditions, e.g. China's data residency.

Fleet-wide by construction: :meth:`AccessEnforcer.permitted_vehicles` decides
once per distinct (brand, region) of the vehicles, never once per vehicle.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import casbin  # type: ignore[import-untyped]
from casbin.effect.default_effectors import (  # type: ignore[import-untyped]
    AllowOverrideEffector,
)
from casbin.util import escape_assertion, key_match  # type: ignore[import-untyped]

from drivetrain.errors import InputError, PolicyDenied
from drivetrain.governance.policies import RegionPolicy, load_region_policies
from drivetrain.governance.principals import Principal
from drivetrain.governance.purposes import PURPOSES
from drivetrain.lake import TABLES

#: Purposes that are not uses of the data subject's data for the company's
#: benefit, but duties: meeting them is the legal basis (GDPR Art. 6(1)(c)).
OVERSIGHT_PURPOSES: dict[str, str] = {
    "legal_obligation": (
        "a legal duty: authority requests, data-subject access or erasure requests, audits"
    ),
}
ACTIONS: tuple[str, ...] = ("read", "write")

_RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_POLICY_FIELDS = ("sub", "dom", "obj", "act", "purpose", "cond", "eft", "rule")


class VehicleLike(Protocol):
    """Anything with a vehicle's brand and governance region (e.g. ``VehicleRecord``)."""

    @property
    def brand(self) -> str: ...

    @property
    def region(self) -> str: ...


@dataclass(frozen=True, slots=True)
class VehicleScope:
    """The attributes the access policy looks at for one vehicle (or a group of them)."""

    brand: str
    region: str


class VehicleRecordLike(VehicleLike, Protocol):
    @property
    def vehicle_id(self) -> str: ...


# What the policy protects besides lake tables: control-plane objects a principal
# may be granted, by name, like a table.
CONTROL_OBJECTS: dict[str, str] = {
    "vehicle_identity": "the VIN behind a vehicle pseudonym (re-identification)",
}
# The copilot's documents are protected by their access labels: the policy grants
# ``documents:<label>`` (read), and a reader sees a passage only if granted every label.
DOCUMENT_PREFIX = "documents:"


def _known_object(name: str) -> bool:
    label = name.removeprefix(DOCUMENT_PREFIX)
    return (
        name in TABLES
        or name in CONTROL_OBJECTS
        or (name.startswith(DOCUMENT_PREFIX) and (label == "*" or bool(_LABEL.fullmatch(label))))
    )


_LABEL = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def access_purposes() -> dict[str, str]:
    """Every purpose an access context may name: data purposes plus oversight duties."""
    return {**PURPOSES, **OVERSIGHT_PURPOSES}


@dataclass(frozen=True, slots=True)
class AccessContext:
    """Who is reading (the principal) and why (the purpose): every read carries one."""

    principal: Principal
    purpose: str

    def __post_init__(self) -> None:
        purposes = access_purposes()
        if self.purpose not in purposes:
            raise InputError(
                f"unknown purpose {self.purpose!r} for principal {self.principal.principal_id!r}",
                hint=f"known purposes: {', '.join(purposes)}",
            )


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One line of the access policy."""

    role: str
    brand: str
    table: str
    action: str
    purpose: str
    condition: str
    effect: str
    name: str

    @property
    def line(self) -> str:
        """The rule as written in the policy file (``p, role, brand, …``)."""
        return ", ".join(("p", *astuple(self)))


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """The outcome of one request: allowed or not, and the rule that decided."""

    allowed: bool
    rule: PolicyRule | None
    reason: str


@dataclass(frozen=True, slots=True)
class VehicleAssessment:
    """Which vehicles of a list may be accessed, with the decision per (brand, region)."""

    permitted: frozenset[str]
    decisions: Mapping[tuple[str, str], AccessDecision] = field(default_factory=dict)
    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @property
    def denied(self) -> dict[tuple[str, str], AccessDecision]:
        return {k: d for k, d in self.decisions.items() if not d.allowed}

    @property
    def withheld(self) -> int:
        """How many vehicles of the list were refused."""
        return sum(self.counts[k] for k in self.denied)


def _package_file(name: str) -> Path:
    return Path(str(resources.files("drivetrain.governance").joinpath(*name.split("/"))))


def default_model_path() -> Path:
    return _package_file("access_model.conf")


def default_policy_path() -> Path:
    return _package_file("data/access_policy.csv")


def _in_scope(value: str, scope: str) -> bool:
    """Casbin function: is ``value`` one of the "|"-joined ``scope`` (or scope "*")?"""
    return scope == "*" or value in scope.split("|")


class AccessEnforcer:
    """The access policy, ready to decide requests (wraps a casbin enforcer).

    Principals are registered on first use (their roles become casbin role
    assignments in each of their brands); ``principals`` pre-registers some.
    Thread-safe: registrations and decisions are serialised by a lock (casbin's
    enforcers are not safe to mutate while another thread enforces), so the API's
    worker threads can share the default enforcer.
    """

    def __init__(
        self,
        principals: Iterable[Principal] = (),
        *,
        policy_path: Path | None = None,
        model_path: Path | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path else default_model_path()
        self.policy_path = Path(policy_path) if policy_path else default_policy_path()
        written = _read_policy(self.policy_path)
        # residency first: a refusal names the most specific rule that applies
        self.rules = residency_rules(load_region_policies(), written, self.policy_path) + written
        self._by_line = {_rule_key(r): r for r in self.rules}
        self.roles = frozenset(r.role for r in self.rules if r.role != "*")
        self._decider = self._new_casbin()
        # A second enforcer on the same rules that stops at the first matching
        # allow: it names the rule that granted an access, for the audit log.
        self._explainer = self._new_casbin()
        self._explainer.set_effector(AllowOverrideEffector())
        self._check_conditions()
        self._principals: dict[str, Principal] = {}
        self._cache: dict[tuple[str, ...], AccessDecision] = {}
        self._lock = threading.RLock()
        for principal in principals:
            self.register(principal)

    def _new_casbin(self) -> Any:
        enforcer = casbin.Enforcer(str(self.model_path), enable_log=False)
        for rule in self.rules:
            enforcer.add_policy(*_rule_key(rule))
        enforcer.add_function("in_scope", _in_scope)
        # A role granted in domain "*" holds in every brand.
        enforcer.add_named_domain_matching_func("g", key_match)
        return enforcer

    def _check_conditions(self) -> None:
        sample = dict.fromkeys(
            ("r_sub", "r_dom", "r_obj", "r_act", "r_purpose", "r_obj_brand"), "x"
        ) | {"r_sub_country": "DE", "r_sub_regions": "eu", "r_obj_region": "eu"}
        functions = {"in_scope": _in_scope}
        for rule in self.rules:
            try:
                # casbin's own translation of a condition (&&, ||, !, r.x) into Python
                expression = self._decider._get_expression(
                    escape_assertion(rule.condition), functions
                )
                result = expression.eval(sample)
            except Exception as exc:
                raise InputError(
                    f"access policy {self.policy_path}: rule {rule.name} has a condition "
                    f"that cannot be evaluated: {rule.condition!r} ({exc})",
                    hint="conditions use r.sub_country, r.sub_regions, r.obj_region, "
                    "r.obj_brand, ==, !=, &&, ||, !, in_scope(), True",
                ) from exc
            if not isinstance(result, bool):
                raise InputError(
                    f"access policy {self.policy_path}: rule {rule.name}'s condition "
                    f"{rule.condition!r} is not true or false"
                )

    # -- principals ------------------------------------------------------------

    def register(self, principal: Principal) -> None:
        """Make ``principal``'s roles known to casbin (replacing an earlier version)."""
        with self._lock:
            self._register(principal)

    def _register(self, principal: Principal) -> None:
        known = self._principals.get(principal.principal_id)
        if known == principal:
            return
        unknown = sorted(set(principal.roles) - self.roles)
        if unknown:
            raise InputError(
                f"principal {principal.principal_id!r} has role(s) {', '.join(unknown)} "
                f"that no rule of {self.policy_path} mentions",
                hint=f"roles of the policy: {', '.join(sorted(self.roles))}",
            )
        for enforcer in (self._decider, self._explainer):
            enforcer.delete_user(principal.principal_id)
            for role in principal.roles:
                for brand in principal.attributes.brands:
                    enforcer.add_role_for_user_in_domain(
                        principal.principal_id, role, _domain(brand)
                    )
        self._principals[principal.principal_id] = principal
        self._cache = {k: v for k, v in self._cache.items() if k[0] != principal.principal_id}

    # -- decisions -------------------------------------------------------------

    def decide(
        self, context: AccessContext, action: str, table: str, vehicle: VehicleLike | None
    ) -> AccessDecision:
        """Decide one request; ``vehicle`` None for a table without vehicles."""
        if action not in ACTIONS:
            raise InputError(f"unknown action {action!r}", hint=f"actions: {', '.join(ACTIONS)}")
        if not _known_object(table):
            known = sorted([*TABLES, *CONTROL_OBJECTS, f"{DOCUMENT_PREFIX}<label>"])
            raise InputError(
                f"unknown lake table or protected object {table!r}",
                hint=f"known: {', '.join(known)}",
            )
        with self._lock:
            return self._decide(context, action, table, vehicle)

    def _decide(
        self, context: AccessContext, action: str, table: str, vehicle: VehicleLike | None
    ) -> AccessDecision:
        principal = context.principal
        self._register(principal)
        brand, region = (vehicle.brand, vehicle.region) if vehicle else ("", "")
        key = (principal.principal_id, context.purpose, action, table, brand, region)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        attrs = principal.attributes
        subject = (attrs.country, "|".join(attrs.regions) if "*" not in attrs.regions else "*")
        # Without a vehicle, the table-level question: does any of the principal's
        # brands grant it? (Vehicle-free rows have no region to be resident in.)
        domains = [_domain(brand)] if vehicle else [_domain(b) for b in attrs.brands]
        decision: AccessDecision | None = None
        for domain in domains:
            request = (
                *(principal.principal_id, domain, table, action, context.purpose),
                *(*subject, region, brand),
            )
            allowed, line = self._decider.enforce_ex(*request)
            if allowed:
                _, granted = self._explainer.enforce_ex(*request)
                rule = self._by_line.get(tuple(granted))
                decision = AccessDecision(
                    True, rule, f"granted by rule {rule.name}" if rule else ""
                )
                break
            if line:
                rule = self._by_line[tuple(line)]
                decision = AccessDecision(False, rule, f"denied by rule {rule.name} ({rule.line})")
                break
        if decision is None:
            decision = AccessDecision(False, None, self._no_grant(context, action, table, brand))
        self._cache[key] = decision
        return decision

    def _no_grant(self, context: AccessContext, action: str, table: str, brand: str) -> str:
        principal = context.principal
        where = f" in brand {brand!r}" if brand else ""
        reason = (
            f"no rule grants role(s) {', '.join(principal.roles)} {action} on {table} "
            f"for purpose {context.purpose}{where}"
        )
        if brand and not principal.attributes.covers_brand(brand):
            reason += (
                f" (principal {principal.principal_id!r} is scoped to brand(s) "
                f"{', '.join(principal.attributes.brands)})"
            )
        return reason

    def check(
        self,
        context: AccessContext,
        action: str,
        table: str,
        vehicle_attrs: VehicleLike | None = None,
    ) -> AccessDecision:
        """Return the decision if allowed, else raise PolicyDenied naming the rule."""
        decision = self.decide(context, action, table, vehicle_attrs)
        if not decision.allowed:
            raise denial(context, action, table, vehicle_attrs, decision)
        return decision

    def assess_vehicles(
        self,
        context: AccessContext,
        table: str,
        vehicles: Iterable[VehicleRecordLike],
        *,
        action: str = "read",
    ) -> VehicleAssessment:
        """Decide for every vehicle at once: one request per distinct (brand, region)."""
        groups: dict[tuple[str, str], list[str]] = {}
        for vehicle in vehicles:
            groups.setdefault((vehicle.brand, vehicle.region), []).append(vehicle.vehicle_id)
        decisions = {key: self.decide(context, action, table, VehicleScope(*key)) for key in groups}
        permitted = frozenset(
            vid for key, ids in groups.items() if decisions[key].allowed for vid in ids
        )
        counts = {key: len(ids) for key, ids in groups.items()}
        return VehicleAssessment(permitted=permitted, decisions=decisions, counts=counts)

    def permitted_vehicles(
        self,
        context: AccessContext,
        table: str,
        vehicles: Iterable[VehicleRecordLike],
        *,
        action: str = "read",
    ) -> set[str]:
        """The ids of ``vehicles`` whose rows of ``table`` the context may access."""
        return set(self.assess_vehicles(context, table, vehicles, action=action).permitted)


def denial(
    context: AccessContext,
    action: str,
    table: str,
    vehicle: VehicleLike | None,
    decision: AccessDecision,
) -> PolicyDenied:
    """The PolicyDenied for a refused request: principal, action, table, vehicle, rule."""
    what = table
    if vehicle is not None:
        vehicle_id = getattr(vehicle, "vehicle_id", None)
        ident = f"vehicle {vehicle_id} " if vehicle_id else "vehicles "
        what += f" of {ident}(brand {vehicle.brand}, region {vehicle.region})"
    return PolicyDenied(
        f"principal {context.principal.principal_id!r} may not {action} {what} "
        f"for purpose {context.purpose}: {decision.reason}",
        hint="ask your data-protection officer if the purpose or your scope should change",
    )


def _domain(brand: str) -> str:
    return "*" if brand == "*" else brand.casefold()


def _rule_key(rule: PolicyRule) -> tuple[str, ...]:
    return tuple(astuple(rule))


def _split_policy_line(line: str) -> list[str]:
    # Split on commas outside brackets, as casbin's own file adapter does.
    depth = 0
    tokens: list[str] = []
    current: list[str] = []
    for char in line:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "," and depth == 0:
            tokens.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    tokens.append("".join(current).strip())
    return tokens


def residency_rules(
    policies: Mapping[str, RegionPolicy], rules: Sequence[PolicyRule], path: Path
) -> list[PolicyRule]:
    """The deny rule of each region policy's residency constraint (stated once, in the policy).

    ``r.obj_region == "cn" && !in_scope(r.sub_country, "CN")``, named as the
    region policy says (``pipl_residency``); applies to every role, table,
    action and purpose, like any rule of the policy file.
    """
    taken = {r.name for r in rules}
    derived = []
    for region, policy in sorted(policies.items()):
        if not policy.readable_from:
            continue
        if policy.residency_rule in taken:
            raise InputError(
                f"access policy {path}: rule {policy.residency_rule} is derived from the "
                f"residency of {policy.source}; it may not be written in the policy file too",
                hint=f"delete the line of {policy.residency_rule} from {path}",
            )
        countries = "|".join(sorted(policy.readable_from))
        condition = f'r.obj_region == "{region}" && !in_scope(r.sub_country, "{countries}")'
        derived.append(
            PolicyRule("*", "*", "*", "*", "*", condition, "deny", policy.residency_rule)
        )
    return derived


def _read_policy(path: Path) -> list[PolicyRule]:
    """Read and validate a policy CSV; every error names the file and line."""
    if not path.is_file():
        raise InputError(f"access policy file {path} does not exist")
    purposes = set(access_purposes()) | {"*"}
    tables = set(TABLES) | set(CONTROL_OBJECTS) | {"*"}
    rules: list[PolicyRule] = []
    names: set[str] = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"access policy {path}, line {number}"
        tokens = _split_policy_line(line)
        if tokens[0] != "p":
            raise InputError(
                f"{where}: only 'p' rules belong in the policy, got {tokens[0]!r}",
                hint="roles are granted through the principals' roles and brands",
            )
        values = tokens[1:]
        if len(values) != len(_POLICY_FIELDS):
            raise InputError(
                f"{where}: expected {len(_POLICY_FIELDS)} fields "
                f"({', '.join(_POLICY_FIELDS)}), got {len(values)}"
            )
        role, brand, table, action, purpose, condition, effect, name = values
        rule = PolicyRule(role, _domain(brand), table, action, purpose, condition, effect, name)
        problems = []
        if rule.table not in tables and not _known_object(rule.table):
            problems.append(f"unknown table {rule.table!r}")
        if rule.action not in {*ACTIONS, "*"}:
            problems.append(f"unknown action {rule.action!r}")
        if rule.purpose not in purposes:
            problems.append(f"unknown purpose {rule.purpose!r}")
        if rule.effect not in {"allow", "deny"}:
            problems.append(f"effect must be allow or deny, not {rule.effect!r}")
        if rule.role != "*" and not _RULE_NAME.match(rule.role):
            problems.append(f"invalid role name {rule.role!r}")
        if not _RULE_NAME.match(rule.name):
            problems.append(f"invalid rule name {rule.name!r}")
        elif rule.name in names:
            problems.append(f"rule name {rule.name!r} is used twice")
        if problems:
            raise InputError(f"{where}: {'; '.join(problems)}")
        names.add(rule.name)
        rules.append(rule)
    if not rules:
        raise InputError(f"access policy {path} has no rules", hint="nothing would be readable")
    return rules


__all__ = [
    "ACTIONS",
    "CONTROL_OBJECTS",
    "OVERSIGHT_PURPOSES",
    "AccessContext",
    "AccessDecision",
    "AccessEnforcer",
    "PolicyRule",
    "VehicleAssessment",
    "VehicleScope",
    "access_purposes",
    "default_model_path",
    "default_policy_path",
    "denial",
]

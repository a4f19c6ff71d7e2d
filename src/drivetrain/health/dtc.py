"""SAE J2012 diagnostic trouble codes: what a code means, how urgent it is, what causes it.

A DTC is five characters: the system (P powertrain, C chassis, B body, U
network), a digit 0-3 saying who defines the code, and three hexadecimal
digits. SAE controls P0, P2, P34-P3F, C0, B0, U0 and the C3, B3, U3 ranges: a
generic code means the same on every make. P1, P30-P33, C1, C2, B1, B2, U1 and
U2 are manufacturer controlled: the same code means different things on
different makes, so we name the range and describe nothing.

Descriptions are ours (``data/j2012_generic.txt``), generated from the
standard's block structure; a generic code outside that table is reported as
not described, never guessed. Severity classes and their reasons are defined in
``data/severity.toml``, typical causes in ``data/causes.toml``. Interpretations
are cached per code and the batch form works on the distinct codes of an Arrow
column only, so a fleet's millions of DTC events cost a few dictionary look-ups.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.errors import InputError, IntegrityError

Severity = Literal["stop_safely", "service_soon", "monitor", "unknown"]
Coverage = Literal["described", "generic_not_described", "manufacturer_specific"]

SYSTEMS = {"P": "powertrain", "C": "chassis", "B": "body", "U": "network"}
_HEX = "0123456789ABCDEF"
_DTC = re.compile(r"[PCBU][0-3][0-9A-F]{3}")
_HINT = (
    "an SAE J2012 code is a system letter (P, C, B or U), a digit 0-3 and three "
    "hexadecimal digits, e.g. P0301 or P0A7F"
)

# J2012 sub-systems by the characters after the letter (digit, then first hex digit).
_SUBSYSTEMS = {
    "P00": "fuel and air metering and auxiliary emission controls",
    "P01": "fuel and air metering",
    "P02": "fuel and air metering (injector circuit)",
    "P03": "ignition system or misfire",
    "P04": "auxiliary emission controls",
    "P05": "vehicle speed, idle control and auxiliary inputs",
    "P06": "computer and auxiliary outputs",
    "P07": "transmission",
    "P08": "transmission",
    "P09": "transmission",
    "P0A": "hybrid/EV propulsion",
    "P0B": "hybrid/EV propulsion",
    "P0C": "hybrid/EV propulsion",
    "P20": "fuel and air metering and auxiliary emission controls",
    "P21": "fuel and air metering and auxiliary emission controls",
    "P22": "fuel and air metering and auxiliary emission controls",
    "P23": "ignition system or misfire",
    "P24": "auxiliary emission controls",
    "P25": "auxiliary inputs",
    "P26": "computer and auxiliary outputs",
    "P27": "transmission",
    "P28": "transmission",
    "P29": "fuel and air metering and auxiliary emission controls",
    "P2A": "fuel and air metering and auxiliary emission controls",
    "P34": "cylinder deactivation",
    "U00": "network electrical",
    "U01": "network communication",
    "U02": "network communication",
    "U03": "network software",
    "U04": "network data",
}


@dataclass(frozen=True, slots=True)
class DtcInterpretation:
    """What one diagnostic trouble code means.

    ``subsystem`` is None where the code's range names none (chassis and body
    codes, unassigned ranges); ``description`` is None unless ``coverage`` is
    ``described``.
    """

    code: str
    system: str
    subsystem: str | None
    defined_by: Literal["SAE", "manufacturer"]
    coverage: Coverage
    description: str | None
    severity: Severity
    severity_reason: str
    causes: tuple[str, ...]

    @property
    def generic(self) -> bool:
        """True for SAE-controlled codes, which mean the same on every make."""
        return self.defined_by == "SAE"


def normalise_dtc(code: str) -> str:
    """The code in canonical form (upper case, no spaces); ``InputError`` if malformed."""
    text = code.strip().upper()
    if _DTC.fullmatch(text):
        return text
    if len(text) != 5:
        raise InputError(f"DTC {code!r} has {len(text)} characters, not 5", hint=_HINT)
    if text[0] not in SYSTEMS:
        raise InputError(f"DTC {code!r} starts with {text[0]!r}, not P, C, B or U", hint=_HINT)
    if text[1] not in "0123":
        raise InputError(f"DTC {code!r}: second character {text[1]!r} is not 0-3", hint=_HINT)
    bad = next(c for c in text[2:] if c not in _HEX)
    raise InputError(f"DTC {code!r}: {bad!r} is not a hexadecimal digit (0-9, A-F)", hint=_HINT)


def is_manufacturer_specific(code: str) -> bool:
    """True for the manufacturer-controlled ranges of a well-formed code."""
    if code[0] == "P":
        return code[1] == "1" or (code[1] == "3" and code[2] in "0123")
    return code[1] in "12"


def interpret_dtc(code: str) -> DtcInterpretation:
    """Interpret one code; ``InputError`` if it is not a well-formed J2012 code."""
    return _interpret(normalise_dtc(code))


def severity_classes() -> dict[str, str]:
    """Each severity class and what it asks the driver or fleet operator to do."""
    return dict(_severity_rules().classes)


def described_codes() -> dict[str, str]:
    """Every generic code we describe, with its description."""
    return {code: _capitalise(text) for code, text in _descriptions().items()}


def interpret_dtcs(codes: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Table:
    """Interpret a column of codes (one row per input row, same order).

    Only the distinct codes are interpreted; causes and the severity reason,
    the same for every row of a code, are left to ``interpret_dtc``. A malformed code does not stop the
    batch: its row has ``coverage`` "malformed" and nulls elsewhere, for the
    caller to quarantine (``normalise_dtc`` gives the reason). Null stays null.
    """
    array = codes if isinstance(codes, pa.Array | pa.ChunkedArray) else pa.array(codes)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        if array.null_count != len(array):
            raise InputError(f"DTC column has type {array.type}, not string")
        array = array.cast(pa.string())
    encoded = pc.dictionary_encode(array)
    rows = [_interpret_or_none(c) for c in encoded.dictionary.to_pylist()]

    def column(values: list[Any], dtype: pa.DataType) -> pa.Array:
        return pa.array(values, dtype).take(encoded.indices)

    return pa.table(
        {
            "dtc": array,
            "code": column([r and r.code for r in rows], pa.string()),
            "system": column([r and r.system for r in rows], pa.string()),
            "subsystem": column([r and r.subsystem for r in rows], pa.string()),
            "defined_by": column([r and r.defined_by for r in rows], pa.string()),
            "coverage": column([r.coverage if r else "malformed" for r in rows], pa.string()),
            "description": column([r and r.description for r in rows], pa.string()),
            "severity": column([r and r.severity for r in rows], pa.string()),
        }
    )


def _interpret_or_none(code: str) -> DtcInterpretation | None:
    try:
        return interpret_dtc(code)
    except InputError:
        return None


@functools.lru_cache(maxsize=65_536)
def _interpret(code: str) -> DtcInterpretation:
    manufacturer = is_manufacturer_specific(code)
    text = None if manufacturer else _descriptions().get(code)
    rules = _severity_rules()
    if text is None:
        severity: Severity = "unknown"
        reason = rules.unknown_reason
        causes: tuple[str, ...] = ()
    else:
        severity, reason = rules.classify(code)
        causes = _causes(text)
    coverage: Coverage
    if manufacturer:
        coverage = "manufacturer_specific"
    else:
        coverage = "generic_not_described" if text is None else "described"
    return DtcInterpretation(
        code=code,
        system=SYSTEMS[code[0]],
        subsystem=None if manufacturer else _SUBSYSTEMS.get(code[:3]),
        defined_by="manufacturer" if manufacturer else "SAE",
        coverage=coverage,
        description=None if text is None else _capitalise(text),
        severity=severity,
        severity_reason=reason,
        causes=causes,
    )


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- packaged data --------------------------------------------------------------------


def _data(name: str) -> str:
    return resources.files("drivetrain.health").joinpath("data", name).read_text("utf-8")


@functools.cache
def _descriptions() -> dict[str, str]:
    return parse_code_blocks(_data("j2012_generic.txt"))


def parse_code_blocks(text: str, source: str = "j2012_generic.txt") -> dict[str, str]:
    """Expand the block notation of ``data/j2012_generic.txt`` into code → description."""
    families: dict[str, tuple[str, ...]] = {"-": ("",)}
    table: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{number}"
        if line.startswith("@family"):
            name, _, body = line.removeprefix("@family").partition("=")
            families[name.strip()] = tuple(s.strip().replace("~", "") for s in body.split("|"))
            continue
        head, *options = (part.strip() for part in line.split(";"))
        try:
            start, family, subject = head.split(maxsplit=2)
            suffixes = families[family]
        except (ValueError, KeyError):
            raise IntegrityError(f"{where}: cannot read {line!r}") from None
        values, hexadecimal = _options(options, where)
        texts = [_fill(subject.replace("{n}", n), s) for n in values for s in suffixes]
        for offset, description in enumerate(texts):
            code = _offset(start, offset, hexadecimal, where)
            if not _DTC.fullmatch(code) or is_manufacturer_specific(code):
                raise IntegrityError(f"{where}: {code} is not a generic J2012 code")
            if code in table:
                raise IntegrityError(f"{where}: {code} is described twice")
            table[code] = description
    return table


def _options(options: list[str], where: str) -> tuple[list[str], bool]:
    values, hexadecimal = [""], False
    for option in options:
        if option == "hex":
            hexadecimal = True
        elif option.startswith("n=") and ".." in option:
            first, last = option[2:].split("..")
            if first.isdigit() and last.isdigit():
                values = [str(n) for n in range(int(first), int(last) + 1)]
            else:
                values = [chr(c) for c in range(ord(first), ord(last) + 1)]
        else:
            raise IntegrityError(f"{where}: unknown option {option!r}")
    return values, hexadecimal


def _fill(subject: str, suffix: str) -> str:
    text = subject.replace("~", suffix) if "~" in subject else f"{subject} {suffix}"
    return re.sub(r"\s+([,)])", r"\1", " ".join(text.split()))


def _offset(start: str, offset: int, hexadecimal: bool, where: str) -> str:
    """The code ``offset`` places after ``start``, counting as J2012 allocated that block."""
    if offset == 0:
        return start
    if hexadecimal:
        return f"{start[:2]}{int(start[-3:], 16) + offset:03X}"
    if not start[3:].isdigit() or int(start[3:]) + offset > 99:
        raise IntegrityError(f"{where}: block from {start} leaves its decimal hundred")
    return f"{start[:3]}{int(start[3:]) + offset:02d}"


@dataclass(frozen=True, slots=True)
class _SeverityRules:
    classes: dict[str, str]
    rules: tuple[tuple[tuple[tuple[str, str], ...], Severity, str], ...]
    default: Severity
    default_reason: str
    unknown_reason: str

    def classify(self, code: str) -> tuple[Severity, str]:
        for ranges, severity, reason in self.rules:
            # Same-length codes of [0-9A-F] sort as their hexadecimal values.
            if any(lo <= code <= hi for lo, hi in ranges):
                return severity, reason
        return self.default, self.default_reason


@functools.cache
def _severity_rules() -> _SeverityRules:
    data = tomllib.loads(_data("severity.toml"))
    classes: dict[str, str] = data["classes"]
    rules = []
    for rule in data["rule"]:
        if rule["severity"] not in classes:
            raise IntegrityError(f"severity.toml: unknown class {rule['severity']!r}")
        ranges = tuple(_range(spec) for spec in rule["codes"])
        rules.append((ranges, rule["severity"], rule["reason"]))
    return _SeverityRules(
        classes, tuple(rules), data["default"], data["default_reason"], data["unknown_reason"]
    )


def _range(spec: str) -> tuple[str, str]:
    lo, _, hi = spec.partition("-")
    hi = hi or lo
    if not (_DTC.fullmatch(lo) and _DTC.fullmatch(hi) and lo <= hi):
        raise IntegrityError(f"severity.toml: bad code range {spec!r}")
    return lo, hi


@functools.cache
def _cause_rules() -> tuple[list[tuple[re.Pattern[str], tuple[str, ...]]], ...]:
    data = tomllib.loads(_data("causes.toml"))
    return tuple(
        [(re.compile(r["pattern"], re.IGNORECASE), tuple(r["causes"])) for r in data[kind]]
        for kind in ("topic", "failure")
    )


def _causes(description: str) -> tuple[str, ...]:
    topics, failures = _cause_rules()
    failure_part = description.split(",", 1)[0]  # the location (", bank 1 sensor 2") says no how
    found: list[str] = []
    for rules, text in ((topics, description), (failures, failure_part)):
        for pattern, causes in rules:
            if pattern.search(text):
                found += [c for c in causes if c not in found]
                break
    return tuple(found)

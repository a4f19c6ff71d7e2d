"""DTC interpretation, checked against python-OBD's J2012 table as an independent reference.

python-OBD (GPL-2.0) is only read here, in tests: our descriptions are written
from J2012's structure, and this module measures how far they agree with a
table written by other people from (an older revision of) the same standard.
"""

from __future__ import annotations

import re
import statistics
import time

import pyarrow as pa
import pytest
from obd.codes import DTC as OBD_TABLE

from drivetrain.demo.dtcs import BACKGROUND_BEV, BACKGROUND_ICE
from drivetrain.demo.faults import FAULT_TYPES
from drivetrain.errors import InputError, IntegrityError
from drivetrain.health.dtc import (
    described_codes,
    interpret_dtc,
    interpret_dtcs,
    parse_code_blocks,
    severity_classes,
)

OURS = described_codes()
# python-OBD fills unassigned codes with "Reserved by (SAE) J2012": not descriptions.
REFERENCE = {c: t for c, t in OBD_TABLE.items() if "reserved" not in t.lower()}
COMMON = sorted(set(OURS) & set(REFERENCE))

# Codes where the reference follows an older J2012 revision, reviewed by hand:
# J2012-2007 renamed P0045-P0048 from "boost control solenoid" to "boost control 'A'".
KNOWN_DIFFERENCES = {"P0045", "P0046", "P0047", "P0048"}
# Codes the reference lists as reserved and later revisions of J2012 assign.
REFERENCE_RESERVED_WE_DESCRIBE = {"P0383", "P0384", "U0074", "U0075", "U0076", "U0077"}

_SYNONYMS = [
    (r"\bho2s\b|\bo2\b|oxygen", " oxygen "),
    (r"evaporative|\bevap\b", " evap "),
    (r"exhaust gas recirculation|\begr\b", " egr "),
    (r"turbo ?charger|super ?charger|turbo/super ?charger", " turbo "),
    (r"\btcc\b", " torque converter clutch "),
]
_TOPICS = {
    "misfire", "coolant", "circuit", "heater", "oxygen", "camshaft", "crankshaft", "knock",
    "injector", "throttle", "evap", "catalyst", "egr", "lean", "rich", "intermittent",
    "performance", "open", "solenoid", "pump", "turbo", "fuel", "temperature", "pressure",
    "speed", "purge", "vent", "leak", "voltage", "glow", "clutch", "shift", "fan",
    "communication", "lost", "software", "invalid",
}  # fmt: skip
_STOP = {
    "malfunction", "problem", "the", "with", "and", "or", "a", "of", "to", "for", "in", "on",
    "at", "by", "detected", "system", "input", "module", "control",
}  # fmt: skip
_ABBREVIATIONS = [
    (r"ecm/pcm|pcm/ecm|\becm\b|\bpcm\b", " engine "),
    (r"\btcm\b", " transmission "),
    (r"\babs\b", " anti lock brake "),
    (r"\bbcm\b", " body "),
    (r"\bipc\b", " instrument panel cluster "),
    (r"\bvss\b", " vehicle speed sensor "),
    (r"\bkam\b", " keep alive memory "),
    (r"\bimrc\b", " intake manifold runner control "),
]


def key_terms(text: str) -> tuple[set[str], set[str]]:
    """Normalised key terms of a description: (topic words, numbers and letters) and polarity."""
    t = text.lower()
    letters = {f"letter:{m}" for m in re.findall(r"['\"]([a-l])['\"]", t)}
    for pattern, replacement in _SYNONYMS:
        t = re.sub(pattern, replacement, t)
    numbers = {
        f"{kind}:{n}"
        for kind in ("cylinder", "bank", "sensor")
        for n in re.findall(rf"\b{kind}\s*#?\s*(\d+)", t)
    }
    words = set(re.findall(r"[a-z]+", t))
    return (words & _TOPICS) | numbers | letters, words & {"low", "high"}


def agrees(reference: str, ours: str) -> bool:
    """Every key term of the reference is in ours, and low/high polarity is the same."""
    (ref_terms, ref_polarity), (our_terms, our_polarity) = key_terms(reference), key_terms(ours)
    return ref_terms <= our_terms and ref_polarity == our_polarity


def content_words(text: str) -> set[str]:
    t = text.lower()
    for pattern, replacement in _SYNONYMS + _ABBREVIATIONS:
        t = re.sub(pattern, replacement, t)
    return {w for w in re.findall(r"[a-z]+|\d+", t) if w not in _STOP}


def test_key_terms_agree_with_python_obd() -> None:
    disagree = sorted(c for c in COMMON if not agrees(REFERENCE[c], OURS[c]))
    rate = 1 - len(disagree) / len(COMMON)
    print(f"key-term agreement with python-OBD: {rate:.4f} over {len(COMMON)} codes")
    # Measured 0.9980 (4 of 1,991). 0.995 leaves room for a few more wording
    # changes between J2012 revisions; any new disagreement must also be
    # reviewed into KNOWN_DIFFERENCES, so one shifted block fails here.
    assert rate >= 0.995
    assert set(disagree) <= KNOWN_DIFFERENCES, [(c, REFERENCE[c], OURS[c]) for c in disagree]


def test_content_words_mostly_shared_with_python_obd() -> None:
    recall = []
    for code in COMMON:
        reference = content_words(REFERENCE[code])
        recall.append(len(reference & content_words(OURS[code])) / max(len(reference), 1))
    mean = statistics.mean(recall)
    half = sum(r >= 0.5 for r in recall) / len(recall)
    print(f"content-word recall: mean {mean:.3f}, share >= 0.5: {half:.4f}")
    # Measured mean 0.991 and 100 %: wording differs (abbreviations, "sensor/switch"),
    # the words that say what failed do not.
    assert mean >= 0.97
    assert half >= 0.99


def test_we_cover_most_of_the_reference_and_describe_only_generic_codes() -> None:
    coverage = len(COMMON) / len(REFERENCE)
    print(f"codes of python-OBD's table we describe: {coverage:.4f} of {len(REFERENCE)}")
    assert coverage >= 0.98  # measured 0.983: the rest are U01xx/U02xx modules we left out
    assert set(OURS) & set(OBD_TABLE) - set(REFERENCE) == REFERENCE_RESERVED_WE_DESCRIBE


def test_cylinder_numbers_and_coil_letters_match_the_reference_exactly() -> None:
    numbered = [
        c for c in COMMON if re.search(r"cylinder\s*#?\d|coil '[a-l]'", REFERENCE[c].lower())
    ]
    assert len(numbered) >= 150  # misfire, injectors, coils, glow plugs, knock, deactivation
    for code in numbered:
        assert key_terms(REFERENCE[code])[0] <= key_terms(OURS[code])[0], code
    for n in range(1, 13):
        assert OURS[f"P03{n:02d}"] == f"Cylinder {n} misfire detected"


def _position(code: str) -> tuple[int, int | None]:
    found = re.search(r"bank (\d)(?: sensor (\d))?", OURS[code])
    assert found, code
    return int(found[1]), None if found[2] is None else int(found[2])


def test_bank_and_sensor_positions_follow_the_j2012_layout() -> None:
    """python-OBD's table omits banks and sensors, so check them against J2012's layout."""
    failures = ["circuit", "low voltage", "high voltage", "slow response", "no activity", "heater"]
    for base, bank in ((130, 1), (150, 2)):
        for offset in range(18):
            code = f"P0{base + offset}"
            assert _position(code) == (bank, 1 + offset // 6), code
            assert failures[offset % 6] in OURS[code], code
    heaters = {"P0030": (1, 1), "P0036": (1, 2), "P0042": (1, 3)}
    heaters |= {"P0050": (2, 1), "P0056": (2, 2), "P0062": (2, 3)}
    for start, position in heaters.items():
        for offset in range(3):
            code = f"P00{int(start[3:]) + offset:02d}"
            assert _position(code) == position and "heater" in OURS[code], code
    for code in ("P0170", "P0171", "P0172", "P0420", "P0421", "P0010", "P0015", "P0491"):
        assert _position(code)[0] == 1, code
    for code in ("P0173", "P0174", "P0175", "P0430", "P0431", "P0020", "P0025", "P0492"):
        assert _position(code)[0] == 2, code
    for offset, (bank, sensor) in enumerate([(1, 2), (2, 2), (1, 3), (2, 3)]):
        lean, rich = f"P{2270 + 2 * offset}", f"P{2271 + 2 * offset}"
        assert _position(lean) == _position(rich) == (bank, sensor)
        assert "stuck lean" in OURS[lean] and "stuck rich" in OURS[rich]


@pytest.mark.parametrize("code", sorted(OBD_TABLE))
def test_every_reference_code_is_generic_with_the_right_system(code: str) -> None:
    record = interpret_dtc(code)
    assert record.system == {"P": "powertrain", "U": "network"}[code[0]]
    assert record.generic and record.coverage != "manufacturer_specific"


@pytest.mark.parametrize(
    ("code", "manufacturer"),
    [
        ("P0000", False), ("P0FFF", False), ("P1000", True), ("P1FFF", True),
        ("P2FFF", False), ("P3000", True), ("P33FF", True), ("P3400", False),
        ("P3FFF", False), ("C0000", False), ("C1234", True), ("C2FFF", True),
        ("C3000", False), ("B0001", False), ("B1000", True), ("B2ABC", True),
        ("B3000", False), ("U0100", False), ("U1000", True), ("U2FFF", True),
        ("U3000", False),
    ],
)  # fmt: skip
def test_manufacturer_ranges(code: str, manufacturer: bool) -> None:
    record = interpret_dtc(code)
    assert (record.coverage == "manufacturer_specific") is manufacturer
    assert record.defined_by == ("manufacturer" if manufacturer else "SAE")
    if manufacturer or code not in OURS:
        assert record.description is None and record.severity == "unknown"
        assert record.causes == ()


@pytest.mark.parametrize(
    "code", ["P03G1", "X0300", "P4000", "P030", "P03001", "", "P-300", "0300P", "PO300"]
)
def test_malformed_codes_raise(code: str) -> None:
    with pytest.raises(InputError, match="DTC") as caught:
        interpret_dtc(code)
    assert caught.value.hint and "P0301" in caught.value.hint


def test_case_and_spaces_are_normalised() -> None:
    assert interpret_dtc(" p0a7f ").code == "P0A7F"


def test_sub_systems_follow_the_j2012_ranges() -> None:
    expect = {
        "P0101": "fuel and air metering",
        "P0201": "fuel and air metering (injector circuit)",
        "P0301": "ignition system or misfire",
        "P0442": "auxiliary emission controls",
        "P0506": "vehicle speed, idle control and auxiliary inputs",
        "P0606": "computer and auxiliary outputs",
        "P0700": "transmission",
        "P0901": "transmission",
        "P0A7F": "hybrid/EV propulsion",
        "P2300": "ignition system or misfire",
        "P3401": "cylinder deactivation",
        "U0001": "network electrical",
        "U0100": "network communication",
        "U0301": "network software",
        "U0401": "network data",
    }
    for code, subsystem in expect.items():
        assert interpret_dtc(code).subsystem == subsystem, code


def test_every_code_the_simulator_emits_is_described() -> None:
    expected = {c for f in FAULT_TYPES for c in f.expected_dtcs if "X" not in c}
    expected |= {f"P030{n}" for n in range(1, 5)}  # P030X: the misfiring cylinder, 1-4
    for code in expected | set(BACKGROUND_ICE) | set(BACKGROUND_BEV):
        record = interpret_dtc(code)
        assert record.coverage == "described" and record.causes, code


def test_severity_puts_safety_and_engine_damage_above_emissions() -> None:
    assert set(severity_classes()) == {"stop_safely", "service_soon", "monitor", "unknown"}
    for code in ("P0300", "P0301", "P0217", "P0524", "P0AA6", "P2106"):
        assert interpret_dtc(code).severity == "stop_safely", code
    for code in ("P0128", "P0562", "P0A7F", "P0171", "U0100", "C0035", "P0335"):
        assert interpret_dtc(code).severity == "service_soon", code
    for code in ("P0420", "P0442", "P0455", "P0456", "P0137"):
        assert interpret_dtc(code).severity == "monitor", code
    assert all(interpret_dtc(c).severity_reason for c in ("P0301", "P0442", "P1234"))


def test_almost_every_described_code_has_typical_causes() -> None:
    without = [c for c in OURS if not interpret_dtc(c).causes]
    assert len(without) / len(OURS) < 0.02, without


def test_batch_interpretation_matches_single_and_marks_malformed() -> None:
    codes = ["P0301", "p0442", None, "P03G1", "P1234", "P0301"]
    table = interpret_dtcs(codes)
    assert table.num_rows == len(codes)
    assert table.column("coverage").to_pylist() == [
        "described", "described", None, "malformed", "manufacturer_specific", "described",
    ]  # fmt: skip
    assert table.column("code").to_pylist() == ["P0301", "P0442", None, None, "P1234", "P0301"]
    single = interpret_dtc("P0442")
    row = table.slice(1, 1).to_pylist()[0]
    assert row["description"] == single.description and row["severity"] == single.severity


def test_batch_interpretation_is_fast() -> None:
    distinct = [*list(OURS)[:300], "P1234", "U2100", "P03G1"]
    column = pa.array([distinct[i % len(distinct)] for i in range(1_000_000)])
    interpret_dtcs(column.slice(0, 1000))  # load the tables
    began = time.perf_counter()
    table = interpret_dtcs(column)
    elapsed = time.perf_counter() - began
    print(f"interpret_dtcs: 1,000,000 events in {elapsed * 1000:.0f} ms")
    assert table.num_rows == 1_000_000
    assert elapsed < 3.0  # measured ~0.07 s; generous for loaded CI machines


def test_block_notation_counts_decimal_or_hex_and_refuses_bad_blocks() -> None:
    text = "@family f = circuit | circuit low\nP0098 f part ~\nP0A3F f motor ~ ; hex\n"
    assert parse_code_blocks(text) == {
        "P0098": "part circuit",
        "P0099": "part circuit low",
        "P0A3F": "motor circuit",
        "P0A40": "motor circuit low",
    }
    with pytest.raises(IntegrityError, match="decimal hundred"):
        parse_code_blocks("@family f = a | b\nP0099 f part ~\n")
    with pytest.raises(IntegrityError, match="twice"):
        parse_code_blocks("P0100 - one\nP0100 - two\n")
    with pytest.raises(IntegrityError, match="not a generic"):
        parse_code_blocks("P1100 - a manufacturer code\n")

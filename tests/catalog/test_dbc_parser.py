"""drivetrain's DBC parser: every opendbc file loads and agrees with cantools / opendbc."""

from __future__ import annotations

import os
from typing import Any

import pytest

from drivetrain.catalog import load_dbc
from drivetrain.catalog.dbc import available_dbcs, opendbc_source_files
from drivetrain.catalog.dbc_parser import DbcSyntaxError, parse_dbc
from drivetrain.errors import InputError

from .._dbc_reference import ALL_DBCS, cantools_db


def test_all_shipped_dbcs_are_covered() -> None:
    assert len(opendbc_source_files()) == 115
    assert "generator/chrysler/_stellantis_common" in ALL_DBCS
    refused = [n for n in ALL_DBCS if cantools_db(n) is None]
    # the Stellantis files the issue names are among those cantools refuses
    for name in ("chrysler_cusw", "fca_giorgio", "psa_aee2010_r3"):
        assert name in refused


@pytest.mark.parametrize("name", ALL_DBCS)
def test_every_opendbc_file_loads_and_agrees(name: str) -> None:
    db = load_dbc(name)
    assert db.messages or db.comment.startswith("IMPORT")  # generator inputs that only import
    theirs = cantools_db(name)
    if theirs is not None:
        compare_with_cantools(db, theirs)
    else:
        compare_with_opendbc(db, name)


def compare_with_cantools(db: Any, theirs: Any) -> None:
    seen = {(m.frame_id, m.is_extended_frame): m for m in theirs.messages}
    assert set(seen) == set(db.by_frame_id)
    for key, msg in seen.items():
        ours = db.by_frame_id[key]
        # a frame longer than 8 bytes is CAN FD whatever VFrameFormat says
        fd = msg.is_fd or msg.length > 8
        assert (ours.name, ours.length, ours.is_fd) == (msg.name, msg.length, fd)
        assert set(ours.signals) == {s.name for s in msg.signals}
        for sig in msg.signals:
            mine = ours.signals[sig.name]
            where = f"{msg.name}.{sig.name}"
            assert (mine.start_bit, mine.length, mine.byte_order) == (
                sig.start,
                sig.length,
                sig.byte_order,
            ), where
            assert (mine.is_signed, mine.is_float) == (sig.is_signed, sig.is_float), where
            assert (mine.factor, mine.offset) == (sig.scale, sig.offset), where
            assert (mine.minimum, mine.maximum) == (
                None if sig.minimum is None else float(sig.minimum),
                None if sig.maximum is None else float(sig.maximum),
            ), where
            assert mine.unit == (sig.unit or ""), where
            assert mine.is_multiplexer == sig.is_multiplexer, where
            ids = None if sig.multiplexer_ids is None else tuple(sorted(sig.multiplexer_ids))
            assert mine.multiplexer_ids == ids, where
            assert mine.multiplexer_signal == sig.multiplexer_signal, where
            choices = {int(k): str(v) for k, v in (sig.choices or {}).items()}
            assert dict(mine.choices) == choices, where
            assert mine.comment == (sig.comment or ""), where


def compare_with_opendbc(db: Any, name: str) -> None:
    from opendbc import DBC_PATH
    from opendbc.can.dbc import DBC

    ref = DBC(name if name in available_dbcs() else os.path.join(DBC_PATH, f"{name}.dbc"))
    by_raw = {m.frame_id: m for m in db.messages.values()}
    for address, msg in ref.msgs.items():
        if msg.name == "VECTOR__INDEPENDENT_SIG_MSG":
            continue  # signals of no message; cantools and drivetrain drop it
        ours = by_raw.get(address & 0x7FFFFFFF)
        assert ours is not None, f"{address:#x} {msg.name}"
        assert (ours.name, ours.length) == (msg.name, msg.size)
        for sig in msg.sigs.values():
            mine = ours.signals[sig.name]
            assert (mine.start_bit, mine.size, mine.msb, mine.lsb) == (
                sig.start_bit,
                sig.size,
                sig.msb,
                sig.lsb,
            )
            assert (mine.is_little_endian, mine.is_signed) == (sig.is_little_endian, sig.is_signed)
            assert (mine.factor, mine.offset) == (sig.factor, sig.offset)
        assert set(ours.signals) >= set(msg.sigs)


# --- tolerated quirks --------------------------------------------------------------------


def test_stellantis_quirks_are_tolerated_with_warnings() -> None:
    psa = load_dbc("psa_aee2010_r3")
    assert any("'0_COUNTER' starts with a digit" in w.message for w in psa.warnings)
    cusw = load_dbc("chrysler_cusw")
    assert any("without the extended flag" in w.message for w in cusw.warnings)
    bsm = cusw.message("BSM_LEFT")
    assert (bsm.frame_id, bsm.is_extended) == (0x62CC033, True)
    common = load_dbc("generator/chrysler/_stellantis_common")
    assert common.signal("EPS_2", "COUNTER").kind == "counter"
    assert any("no digit before the decimal point" in w.message for w in common.warnings)


def test_counters_and_checksums_are_classified() -> None:
    psa = load_dbc("psa_aee2010_r3")
    kinds = {s.kind for m in psa.messages.values() for s in m.signals.values()}
    assert kinds == {"physical", "counter", "checksum"}
    tesla = load_dbc("tesla_model3_party")
    assert tesla.signal("DI_torque", "DI_torqueCounter").kind == "counter"
    assert tesla.signal("DI_torque", "DI_torqueChecksum").kind == "checksum"
    assert tesla.signal("DI_torque", "DI_torqueActual").kind == "physical"
    mqb = load_dbc("vw_mqb")
    assert mqb.signal("ESP_21", "CHECKSUM").kind == "checksum"
    assert mqb.signal("ESP_21", "COUNTER").kind == "counter"


MINIMAL = """VERSION ""
NS_ :
\tCM_
\tVAL_
BS_:
BU_: ECU
BO_ 100 Speed: 8 ECU
 SG_ Mode M : 0|2@1+ (1,0) [0|3] "" ECU
 SG_ A m0 : 8|16@1- (.5,0) [0|0] "km/h" ECU
 SG_ B m1 : 15|16@0+ (1,-10) [-10|100] "" ECU
 SG_ COUNTER : 60|4@1+ (1,0) [0|15] "" ECU
CM_ SG_ 100 A "first line
second \\"quoted\\" line";
CM_ "a database comment"
BA_DEF_ BO_ "GenMsgCycleTime" INT 0 1000;
BA_ "GenMsgCycleTime" BO_ 100 20;
VAL_ 100 Mode 0 "a" 1 "b" ;
VAL_ 999 Nope 0 "x" ;
"""


def test_minimal_file_reads_every_statement() -> None:
    db = parse_dbc(MINIMAL, name="mini")
    msg = db.message("Speed")
    assert (msg.frame_id, msg.is_extended, msg.length, msg.cycle_time) == (100, False, 8, 20)
    a = msg.signal("A")
    assert (a.factor, a.minimum, a.maximum, a.unit) == (0.5, None, None, "km/h")
    assert a.comment == 'first line\nsecond "quoted" line'
    assert (a.multiplexer_signal, a.multiplexer_ids) == ("Mode", (0,))
    assert dict(msg.signal("Mode").choices) == {0: "a", 1: "b"}
    assert msg.signal("Mode").is_multiplexer
    assert db.comment == "a database comment"
    messages = [w.message for w in db.warnings]
    assert any("CM_ is missing its ';'" in m for m in messages)
    assert any("VAL_ for unknown message 999" in m for m in messages)
    assert any("'.5' has no digit before the decimal point" in m for m in messages)


@pytest.mark.parametrize(
    ("old", "new", "line", "column", "problem"),
    [
        ("15|16@0+", "15 16@0+", 10, 16, "expected '|'"),
        ("15|16@0+", "15|16@2+", 10, 19, "byte order"),
        ("(1,-10)", "(1;-10)", 10, 24, "expected ','"),
        ('VAL_ 999 Nope 0 "x" ;\n', 'VAL_ 999 Nope 0 "x" ;\nCM_ "dangling', 19, 5, "unterminated"),
        ("BO_ 100 Speed: 8", "BO_ 100 Speed 8", 7, 15, "expected ':'"),
    ],
)
def test_real_syntax_errors_name_line_and_column(
    old: str, new: str, line: int, column: int, problem: str
) -> None:
    text = MINIMAL.replace(old, new, 1)
    assert text != MINIMAL
    with pytest.raises(DbcSyntaxError, match=problem) as info:
        parse_dbc(text, name="mini", file="broken.dbc")
    assert isinstance(info.value, InputError)
    assert (info.value.file, info.value.line, info.value.column) == ("broken.dbc", line, column)
    assert f"broken.dbc:{line}:{column}:" in str(info.value)


def test_load_dbc_accepts_a_path(tmp_path: Any) -> None:
    path = tmp_path / "mini.dbc"
    path.write_text(MINIMAL, encoding="utf-8")
    db = load_dbc(str(path))
    assert db.name == "mini" and "Speed" in db.messages
    assert load_dbc(str(path)) is db

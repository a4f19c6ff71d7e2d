"""drivetrain's own DBC parser: strict on real syntax errors, tolerant of known quirks.

The text is split into tokens (words, numbers, quoted strings that may span
lines, and the punctuation ``: ; | @ ( ) [ ] ,``), tokens into statements (a
statement starts at a DBC keyword that opens a line or follows ``;``), and
each statement is read by a small recursive-descent routine. What cantools
refuses but whose meaning is clear is accepted and reported as a
``DbcWarning`` (see ``TOLERATED`` in ``dbc_build``); anything else raises
``DbcSyntaxError`` with the file, line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from drivetrain.catalog.dbc_build import MessageDraft, ParsedDbc, SignalDraft, build_database
from drivetrain.catalog.dbc_model import DbcDatabase, DbcWarning
from drivetrain.errors import InputError

__all__ = ["DbcSyntaxError", "parse_dbc"]

_TOKEN = re.compile(
    r'(?P<nl>\n)|(?P<ws>[ \t\r\f\v]+)|(?P<str>"(?:[^"\\]|\\.)*")|(?P<open>")'
    r"|(?P<punct>[:;|@()\[\],])|(?P<word>[^\s:;|@()\[\],\"]+)",
    re.DOTALL,
)
_KEYWORDS = frozenset(
    [
        "VERSION",
        "NS_",
        "BS_",
        "BU_",
        "BO_",
        "SG_",
        "CM_",
        "VAL_",
        "VAL_TABLE_",
        "BA_DEF_",
        "BA_DEF_DEF_",
        "BA_",
        "BA_REL_",
        "BA_DEF_REL_",
        "BA_DEF_DEF_REL_",
        "BA_DEF_SGTYPE_",
        "BA_SGTYPE_",
        "SIG_VALTYPE_",
        "SG_MUL_VAL_",
        "BO_TX_BU_",
        "EV_",
        "ENVVAR_DATA_",
        "SGTYPE_",
        "SGTYPE_VAL_",
        "SIG_GROUP_",
        "SIG_TYPE_REF_",
        "CAT_DEF_",
        "CAT_",
        "FILTER",
        "BU_SG_REL_",
        "BU_EV_REL_",
        "BU_BO_REL_",
        "SIGTYPE_VALTYPE_",
    ]
)
_TERMINATED = frozenset(
    [
        "CM_",
        "VAL_",
        "VAL_TABLE_",
        "BA_DEF_",
        "BA_DEF_DEF_",
        "BA_",
        "SIG_VALTYPE_",
        "SG_MUL_VAL_",
        "BO_TX_BU_",
    ]
)


class DbcSyntaxError(InputError):
    """A DBC file has a syntax error; ``file``, ``line`` and ``column`` locate it."""

    code = "dbc-syntax-error"

    def __init__(self, file: str, line: int, column: int, problem: str) -> None:
        self.file, self.line, self.column = file, line, column
        super().__init__(
            f"{file}:{line}:{column}: {problem}",
            hint="fix the DBC text at that position (drivetrain tolerates known quirks only)",
        )


class _Tok(NamedTuple):
    kind: str  # word, str, punct
    text: str
    line: int
    col: int


def _tokenize(text: str, file: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    line, line_start = 1, 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or ""
        if kind == "nl":
            line, line_start = line + 1, m.end()
        elif kind == "ws":
            continue
        elif kind == "open":
            raise DbcSyntaxError(file, line, m.start() - line_start + 1, "unterminated string")
        else:
            tokens.append(_Tok(kind, m.group(), line, m.start() - line_start + 1))
            if kind == "str" and "\n" in m.group():
                line += m.group().count("\n")
                line_start = m.start() + m.group().rindex("\n") + 1
    return tokens


def _statements(tokens: list[_Tok]) -> list[list[_Tok]]:
    out: list[list[_Tok]] = []
    current: list[_Tok] = []
    prev: _Tok | None = None
    for i, tok in enumerate(tokens):
        first_on_line = prev is None or prev.line != tok.line
        starts = tok.kind == "word" and tok.text in _KEYWORDS
        starts = starts and (first_on_line or (prev is not None and prev.text == ";"))
        if starts and current and current[0].text == "NS_" and first_on_line:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            starts = nxt is not None and nxt.line == tok.line  # NS_ lists one keyword a line
        if starts or not current:
            if current:
                out.append(current)
            current = [tok]
        else:
            current.append(tok)
        prev = tok
    if current:
        out.append(current)
    return out


def _at(tok: _Tok) -> tuple[int, int]:
    return tok.line, tok.col


def _unquote(text: str) -> str:
    return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")


@dataclass
class _Cursor:
    toks: list[_Tok]
    file: str
    warnings: list[DbcWarning]
    pos: int = 1

    def error(self, problem: str, tok: _Tok | None = None) -> DbcSyntaxError:
        tok = tok or (self.toks[self.pos] if self.pos < len(self.toks) else self.toks[-1])
        found = f"'{tok.text}'" if self.pos < len(self.toks) else "end of statement"
        return DbcSyntaxError(self.file, tok.line, tok.col, f"{problem}, found {found}")

    def warn(self, tok: _Tok, message: str) -> None:
        self.warnings.append(DbcWarning(tok.line, tok.col, message))

    def at_end(self) -> bool:
        return self.pos >= len(self.toks)

    def peek(self) -> _Tok | None:
        return None if self.at_end() else self.toks[self.pos]

    def take(self, kind: str, what: str) -> _Tok:
        tok = self.peek()
        if tok is None or tok.kind != kind:
            raise self.error(f"expected {what}")
        self.pos += 1
        return tok

    def punct(self, char: str) -> None:
        tok = self.peek()
        if tok is None or tok.text != char:
            raise self.error(f"expected '{char}'")
        self.pos += 1

    def name(self, what: str) -> str:
        tok = self.take("word", what)
        if tok.text[0].isdigit():
            self.warn(tok, f"{what} {tok.text!r} starts with a digit")
        return tok.text

    def integer(self, what: str) -> int:
        tok = self.take("word", what)
        try:
            return int(tok.text)
        except ValueError:
            pass
        try:
            value = int(tok.text, 0)
            self.warn(tok, f"{what} written as {tok.text!r}")
            return value
        except ValueError:
            raise DbcSyntaxError(
                self.file, tok.line, tok.col, f"expected {what} (an integer), found {tok.text!r}"
            ) from None

    def number(self, what: str) -> tuple[float, str]:
        tok = self.take("word", what)
        try:
            value = float(tok.text)
        except ValueError:
            raise DbcSyntaxError(
                self.file, tok.line, tok.col, f"expected {what} (a number), found {tok.text!r}"
            ) from None
        if tok.text.lstrip("+-").startswith("."):
            self.warn(tok, f"{what} {tok.text!r} has no digit before the decimal point")
        return value, tok.text

    def string(self, what: str) -> str:
        return _unquote(self.take("str", what).text)

    def value(self) -> str | float:
        tok = self.peek()
        if tok is not None and tok.kind == "str":
            return self.string("a value")
        return self.number("a value")[0]

    def pairs(self, what: str) -> dict[int, str]:
        out: dict[int, str] = {}
        while not self.at_end():
            number, _ = self.number(f"{what} value")
            if number != int(number):
                raise self.error(f"{what} value must be an integer")
            out[int(number)] = self.string(f"{what} description")
        return out


@dataclass
class _Parser(ParsedDbc):
    def statement(self, toks: list[_Tok]) -> None:
        head = toks[0].text
        if head in _TERMINATED:
            if toks[-1].text == ";":
                toks = toks[:-1]
            else:
                last = toks[-1]
                self.warnings.append(
                    DbcWarning(last.line, last.col + len(last.text), f"{head} is missing its ';'")
                )
        handler = getattr(self, f"_{head.lower()}", None)
        if handler is None:
            return  # a statement drivetrain does not use (EV_, SIG_GROUP_, BA_REL_, ...)
        cur = _Cursor(toks, self.file, self.warnings)
        handler(cur)
        if not cur.at_end() and head in _TERMINATED:
            cur.warn(toks[cur.pos], f"ignored unexpected text {toks[cur.pos].text!r} in {head}")

    def _version(self, cur: _Cursor) -> None:
        self.version = cur.string("the version string")

    def _bu_(self, cur: _Cursor) -> None:
        cur.punct(":")
        nodes = []
        while not cur.at_end():
            nodes.append(cur.name("a node name"))
        self.nodes = tuple(nodes)

    def _bo_(self, cur: _Cursor) -> None:
        keyword = cur.toks[0]
        raw_id = cur.integer("the message id")
        name = cur.name("the message name")
        cur.punct(":")
        length = cur.integer("the message length")
        sender = cur.name("the sender node") if not cur.at_end() else "Vector__XXX"
        self.messages.append(MessageDraft(keyword.line, keyword.col, raw_id, name, length, sender))

    def _sg_(self, cur: _Cursor) -> None:
        keyword = cur.toks[0]
        name = cur.name("the signal name")
        marker = None
        if (tok := cur.peek()) is not None and tok.kind == "word":
            marker = cur.take("word", "a multiplexer indicator").text
            if marker == "m":
                cur.warn(tok, "multiplexer indicator 'm' without a value (see SG_MUL_VAL_)")
            elif not re.fullmatch(r"M|m\d+M?", marker):
                raise cur.error("expected a multiplexer indicator (M, mN or mNM) or ':'", tok)
        cur.punct(":")
        start = cur.integer("the start bit")
        cur.punct("|")
        size = cur.integer("the bit length")
        cur.punct("@")
        order = cur.take("word", "byte order and sign (e.g. 1+)")
        spec = order.text
        if len(spec) == 1 and (nxt := cur.peek()) is not None and nxt.text in "+-":
            cur.warn(order, "space between byte order and sign")
            spec += cur.take("word", "the sign").text
        if len(spec) != 2 or spec[0] not in "01" or spec[1] not in "+-":
            raise DbcSyntaxError(
                self.file, order.line, order.col, f"expected byte order and sign, found {spec!r}"
            )
        cur.punct("(")
        factor, _ = cur.number("the factor")
        cur.punct(",")
        offset, _ = cur.number("the offset")
        cur.punct(")")
        cur.punct("[")
        minimum, min_text = cur.number("the minimum")
        cur.punct("|")
        maximum, max_text = cur.number("the maximum")
        cur.punct("]")
        unit = cur.string("the unit")
        receivers = [t.text for t in cur.toks[cur.pos :] if t.kind == "word"]
        if not self.messages:
            cur.warn(keyword, f"signal {name!r} outside any BO_ ignored")
            return
        no_range = min_text == max_text == "0"
        self.messages[-1].signals.append(
            SignalDraft(
                keyword.line,
                keyword.col,
                name,
                marker,
                start,
                size,
                spec[0] == "1",
                spec[1] == "-",
                factor,
                offset,
                None if no_range else minimum,
                None if no_range else maximum,
                unit,
                tuple(receivers),
            )
        )

    def _cm_(self, cur: _Cursor) -> None:
        tok = cur.peek()
        if tok is not None and tok.kind == "str":
            self.comment = cur.string("the comment")
            return
        target = cur.take("word", "BU_, BO_, SG_, EV_ or a comment")
        if target.text == "BO_":
            frame = cur.integer("the message id")
            self.msg_comments[frame] = cur.string("the comment")
        elif target.text == "SG_":
            frame = cur.integer("the message id")
            if (nxt := cur.peek()) is not None and nxt.kind == "str":
                cur.warn(nxt, f"CM_ SG_ {frame} without a signal name: kept as message comment")
                self.msg_comments[frame] = cur.string("the comment")
            else:
                signal = cur.name("the signal name")
                self.sig_comments[(frame, signal)] = cur.string("the comment")
        elif target.text in ("BU_", "EV_"):
            cur.name("the node or variable name")
            cur.string("the comment")
        elif target.text.isdigit():
            cur.warn(target, f"CM_ {target.text} without BO_: kept as message comment")
            self.msg_comments[int(target.text)] = cur.string("the comment")
        else:
            raise DbcSyntaxError(
                self.file, target.line, target.col, f"unknown comment target {target.text!r}"
            )

    def _val_(self, cur: _Cursor) -> None:
        first = cur.peek()
        if first is not None and not first.text.lstrip("-").isdigit():
            return  # VAL_ of an environment variable
        frame = cur.integer("the message id")
        signal = cur.name("the signal name")
        self.choices.append((_at(cur.toks[0]), frame, signal, cur.pairs("VAL_")))

    def _val_table_(self, cur: _Cursor) -> None:
        name = cur.name("the value table name")
        self.value_tables[name] = cur.pairs("VAL_TABLE_")

    def _ba_def_(self, cur: _Cursor) -> None:
        if (tok := cur.peek()) is not None and tok.kind == "word":
            cur.pos += 1  # object type (BU_, BO_, SG_, EV_)
        name = cur.string("the attribute name")
        kind = cur.take("word", "the attribute type").text
        enum = [_unquote(t.text) for t in cur.toks[cur.pos :] if t.kind == "str"]
        cur.pos = len(cur.toks)
        self.defs[name] = (kind, enum)

    def _ba_def_def_(self, cur: _Cursor) -> None:
        name = cur.string("the attribute name")
        self.defaults[name] = cur.value()

    def _ba_(self, cur: _Cursor) -> None:
        name = cur.string("the attribute name")
        tok = cur.peek()
        if tok is not None and tok.text in ("BU_", "EV_", "SG_", "BO_"):
            cur.pos += 1
            if tok.text == "BO_":
                frame = cur.integer("the message id")
                self.msg_attrs[(frame, name)] = cur.value()
                return
            cur.take("word", "the object")
            if tok.text == "SG_":
                cur.name("the signal name")
            cur.value()
            return
        self.db_attrs[name] = cur.value()

    def _sig_valtype_(self, cur: _Cursor) -> None:
        frame = cur.integer("the message id")
        signal = cur.name("the signal name")
        if (tok := cur.peek()) is not None and tok.text == ":":
            cur.pos += 1
        self.value_types.append((_at(cur.toks[0]), frame, signal, cur.integer("the value type")))

    def _sg_mul_val_(self, cur: _Cursor) -> None:
        frame = cur.integer("the message id")
        signal = cur.name("the signal name")
        switch = cur.name("the multiplexer switch name")
        ranges: list[tuple[int, int]] = []
        while not cur.at_end():
            tok = cur.take("word", "a range such as 0-3")
            low, sep, high = tok.text.partition("-")
            if not (sep and low.isdigit() and high.isdigit()):
                raise cur.error("expected a range such as 0-3", tok)
            ranges.append((int(low), int(high)))
            if not cur.at_end():
                cur.punct(",")
        self.mux_values.append((_at(cur.toks[0]), frame, signal, switch, ranges))

    def _bo_tx_bu_(self, cur: _Cursor) -> None:
        frame = cur.integer("the message id")
        cur.punct(":")
        self.tx.setdefault(frame, []).extend(
            t.text for t in cur.toks[cur.pos :] if t.kind == "word"
        )
        cur.pos = len(cur.toks)


def parse_dbc(text: str, *, name: str, file: str | None = None) -> DbcDatabase:
    """Parse DBC ``text`` into a ``DbcDatabase`` called ``name``.

    ``file`` names the source in error messages (default ``name``). Raises
    ``DbcSyntaxError`` on a real syntax error; tolerated quirks are listed in
    the result's ``warnings``.
    """
    source = file or name
    parser = _Parser(file=source)
    for statement in _statements(_tokenize(text, source)):
        parser.statement(statement)
    return build_database(name, parser)

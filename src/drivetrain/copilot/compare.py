"""Compare two test-result tables: what changed, by how much, which limits are now violated.

    result = compare_results("brake-2026-10.csv", "brake-2026-11.csv", keys=["speed_kmh"])
    result.changes, result.summary.text  # polars rows per (key, measurement); cited sentences

Rows match on ``keys``, else on the smallest set (≤ 4) of text columns unique in both that
matches most rows. Measurements: numeric columns of both that are not keys, units or limits.
``<m>_unit`` is the unit of ``m``, ``unit`` that of a table's only measurement; different
units are refused. Limits pass at the boundary: ``limits=`` ``{m: (low, high)}`` or a table
``measurement, low, high`` (+ key columns), for both versions; else each table's own
``<m>_lower_limit``/``_upper_limit``, ``_lsl``/``_usl``, ``_low``/``_high``, ``_min``/``_max``
(only beside a column ``m``: ``voltage_min`` alone is measured), ``lower_limit``/``upper_limit``.
Rows are cited by 1-based data row (a CSV line is row + 1).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import polars as pl
import pyarrow as pa

from drivetrain.copilot.errors import CorruptDocument, EmptyDocument, UnsupportedFormat
from drivetrain.errors import InputError, NotFound

TableLike: TypeAlias = str | os.PathLike[str] | pa.Table | pl.DataFrame
LimitsLike: TypeAlias = Mapping[str, tuple[float | None, float | None]] | TableLike
Frame: TypeAlias = pl.DataFrame
Roles: TypeAlias = tuple[dict[str, str], dict[str, dict[str, str]], set[str]]

_SUFFIXES = {"low": ("_lower_limit", "_lsl", "_low", "_min"),
             "high": ("_upper_limit", "_usl", "_high", "_max")}  # fmt: skip
_GENERIC = {"lower_limit": "low", "lsl": "low", "upper_limit": "high", "usl": "high"}
_LIMITS = ("low_a", "high_a", "low_b", "high_b")
_FINDINGS = ("new_violation", "fixed", "still_failing", "removed_failing")
_CAP = 5  # sentences per kind of finding


class ComparisonError(InputError):
    """Two result tables cannot be compared as given (also: invalid ``limits=``)."""

    code = "comparison-error"


class NoCommonKey(ComparisonError):
    code = "no-common-key"


class DuplicateKeys(ComparisonError):
    code = "duplicate-keys"


class NonNumericMeasurement(ComparisonError):
    code = "non-numeric-measurement"


class UnitMismatch(ComparisonError):
    code = "unit-mismatch"


@dataclass(frozen=True, slots=True)
class ComparisonSummary:
    """Counts, columns and findings of a comparison, as data and as sentences."""

    sources: tuple[str, str]
    keys: tuple[str, ...]
    measurements: tuple[str, ...]
    #: rows_matched, rows_added, rows_removed, values_changed, new_violations, fixed, still_failing
    counts: dict[str, int]
    columns_added: tuple[str, ...]
    columns_removed: tuple[str, ...]
    not_compared: tuple[str, ...]
    sentences: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.sentences)


@dataclass(frozen=True, slots=True)
class Comparison:
    """``changes``: keys, ``column`` (measurement), ``row_a``, ``value_a``, ``unit_a``, ``low_a``,
    ``high_a``, the same for B, ``abs_change``, ``rel_change`` (of ``|a|``; null if a = 0),
    ``change`` (changed/unchanged/added/removed), ``pass_a``, ``pass_b``, ``limit_status``:
    ``new_violation`` (fails in B, passed or absent in A), ``fixed``, ``still_failing``,
    ``passing``, ``removed_failing`` (failed in A, absent in B), null without limits."""

    changes: pl.DataFrame
    summary: ComparisonSummary


def _load(source: TableLike, side: str) -> tuple[pl.DataFrame, str]:
    """A table with its 1-based data row in ``_row``, and its name for citations."""
    if isinstance(source, pl.DataFrame | pa.Table):
        df, name = pl.DataFrame(source), side
    else:
        path = Path(source)
        name, suffix = path.name, path.suffix.lower()
        if not path.is_file():
            raise NotFound(f"{side}: {path} does not exist", hint="check the path")
        if suffix not in (".csv", ".parquet"):
            raise UnsupportedFormat(f"{side}: {name} is not .csv or .parquet", hint="export one")
        try:
            if suffix == ".parquet":
                df = pl.read_parquet(path)
            else:  # the delimiter is the one the header line holds most of
                with path.open(errors="replace") as file:
                    sep = max(",;\t|", key=file.readline().count)
                df = pl.read_csv(path, separator=sep, raise_if_empty=False)
        except (pl.exceptions.PolarsError, OSError) as exc:
            hint = "check its delimiter and quoting, and that rows are as wide as the header"
            raise CorruptDocument(f"{side}: {name} is not a table ({exc})", hint=hint) from exc
    if df.height == 0:
        raise EmptyDocument(f"{side}: {name} has no rows", hint="compare tables that hold results")
    return df.with_row_index("_row", offset=1).cast({"_row": pl.Int64}), name


def _roles(df: pl.DataFrame) -> Roles:
    """Unit column and limit columns of each measurement (``*``: the only one), and all of them."""
    units: dict[str, str] = {}
    limits: dict[str, dict[str, str]] = {}
    for c in df.columns:
        low = c.lower()
        if low in ("unit", "units") or low.endswith(("_unit", "_units")):
            units[c[: max(low.rfind("_unit"), 0)] or "*"] = c
        elif low in _GENERIC:
            limits.setdefault("*", {})[_GENERIC[low]] = c
        for bound, suffixes in _SUFFIXES.items():
            m = next((c[: -len(s)] for s in suffixes if low.endswith(s) and len(c) > len(s)), "")
            if m and (m in df.columns or not low.endswith(("_min", "_max"))):
                limits.setdefault(m, {})[bound] = c
    return units, limits, {*units.values(), *(c for b in limits.values() for c in b.values())}


def _keystr(row: Mapping[str, object], keys: Sequence[str]) -> str:
    return ", ".join(f"{k}={row[k]}" for k in keys)


def _unique(df: pl.DataFrame, keys: Sequence[str]) -> bool:
    return bool(df.select(keys).is_unique().all())


def _best_keys(da: pl.DataFrame, db: pl.DataFrame, cols: list[str]) -> list[str] | None:
    """The smallest set of ``cols`` unique in both that matches most rows (or just unique)."""
    first = None
    for size in range(1, min(len(cols), 4) + 1):
        found = [
            (da.join(db, on=combo, how="semi", nulls_equal=True).height, list(combo))
            for combo in itertools.combinations(cols, size)
            if _unique(da, combo) and _unique(db, combo)
        ]
        first = first or next((c for _, c in found), None)
        if found and (best := max(found, key=lambda t: t[0]))[0]:  # max: the first of equals
            return best[1]
    return first


def _duplicates(df: pl.DataFrame, keys: list[str], side: str, name: str) -> str | None:
    groups = df.filter(pl.struct(keys).is_duplicated()).group_by(keys, maintain_order=True)
    if (dup := groups.agg("_row")).height == 0:
        return None
    first = dup.row(0, named=True)
    at = f"{_keystr(first, keys)} on rows {', '.join(map(str, first['_row']))}"
    return f"{side}: {name} has {dup.height} key(s) on several rows, e.g. {at}"


def _numeric(df: pl.DataFrame, col: str, side: str, name: str) -> None:
    if not df[col].dtype.is_numeric():
        v = pl.col(col)
        bad = df.filter(v.cast(pl.Float64, strict=False).is_null() & v.is_not_null())
        where = f"row {bad['_row'][0]} holds {bad[col][0]!r}" if bad.height else df[col].dtype
        msg, hint = f"{side}: '{col}' in {name} is not numeric ({where})", "fix it, or leave it out"
        raise NonNumericMeasurement(msg, hint=f"{hint} (an empty cell for a missing value)")


def _long(df: pl.DataFrame, keys: list[str], ms: list[str], tag: str, name: str) -> pl.DataFrame:
    """One row per (row, measurement): keys, ``column``, row, value, unit and limits."""
    units, limits, _ = _roles(df)
    if len(ms) > 1 and ("*" in units or "*" in limits):
        hint = "name them <measurement>_unit, <measurement>_lower_limit, …"
        raise ComparisonError(f"{name}: which of {ms} do 'unit'/'*_limit' belong to?", hint=hint)
    parts = []
    for m in ms:
        unit, lim = units.get(m, units.get("*")), limits.get(m, limits.get("*", {}))
        for col in lim.values():
            _numeric(df, col, tag.upper(), name)
        parts.append(df.select(
            *keys, pl.lit(m).alias("column"), pl.col("_row").alias(f"row_{tag}"),
            pl.col(m).cast(pl.Float64).fill_nan(None).alias(f"value_{tag}"),
            (pl.col(unit).cast(pl.String).str.strip_chars() if unit else pl.lit(None, pl.String))
            .alias(f"unit_{tag}"),
            *((pl.col(lim[b]) if b in lim else pl.lit(None)).cast(pl.Float64).alias(f"{b}_{tag}")
              for b in ("low", "high")),
        ))  # fmt: skip
    return pl.concat(parts)


def _given_limits(limits: LimitsLike, keys: list[str], ms: list[str]) -> tuple[Frame, list[str]]:
    """``limits=`` as a table with ``_low``, ``_high``, ``_given``; and the columns to join on."""
    if isinstance(limits, Mapping):
        rows = [(m, lo, hi) for m, (lo, hi) in limits.items()]
        lim = pl.DataFrame(rows, schema=["measurement", "low", "high"], orient="row")
    else:
        lim = _load(limits, "limits")[0].drop("_row")
    lim = lim.with_columns(pl.lit(None).alias(b) for b in ("low", "high") if b not in lim.columns)
    extra = [c for c in lim.columns if c not in ("measurement", "low", "high")]
    if "measurement" not in lim.columns or any(c not in keys for c in extra):
        hint = f"give measurement, low, high and optionally key columns of {keys}"
        raise ComparisonError(f"the limits have columns {lim.columns}", hint=hint)
    on = ["measurement" if "measurement" in keys else "column", *extra]
    lim = lim.rename({"measurement": on[0]})  # long format: measurement names are key values
    if on[0] == "column" and (unknown := sorted(set(lim["column"].cast(pl.String)) - set(ms))):
        raise ComparisonError(f"limits for {unknown}, not compared", hint=f"compared: {ms}")
    if not _unique(lim, on):
        raise ComparisonError(f"several limits for the same {on}", hint="keep one row each")
    bounds = [pl.col(b).cast(pl.Float64).alias(f"_{b}") for b in ("low", "high")]
    return lim.select(*on, *bounds, pl.lit(True).alias("_given")), on


def _choose_keys(
    ja: pl.DataFrame, jb: pl.DataFrame, keys: Sequence[str] | None, common: list[str],
    text: list[str], names: tuple[str, str],
) -> list[str]:  # fmt: skip
    """The key columns: checked if given, else detected among the text columns."""

    def hint() -> str:  # keys that would work, integer columns allowed
        best = _best_keys(ja, jb, [c for c in common if not ja[c].dtype.is_float()])
        return f"pass keys={best!r}" if best else "pass keys=[...] naming what identifies a test"

    found = _best_keys(ja, jb, text) if keys is None else list(keys)
    key_list = text if found is None else found
    if not key_list or any(k not in common for k in key_list):
        msg = f"keys {key_list} are not all in both tables" if keys else "no text column in both"
        raise NoCommonKey(msg, hint=hint())
    if dup := _duplicates(ja, key_list, "A", names[0]) or _duplicates(jb, key_list, "B", names[1]):
        raise DuplicateKeys(dup, hint=hint())
    if ja.join(jb, on=key_list, how="semi", nulls_equal=True).height == 0:
        raise NoCommonKey(f"no row of B matches one of A on {key_list}", hint=hint())
    return key_list


def compare_results(
    a: TableLike, b: TableLike, *, keys: Sequence[str] | None = None,
    measurements: Sequence[str] | None = None, limits: LimitsLike | None = None,
    tolerance: float = 1e-9, names: tuple[str, str] | None = None,
) -> Comparison:  # fmt: skip
    """Compare result table ``b`` (the newer) with ``a``, per row key and measurement.

    ``tolerance``: a change of at most this fraction of the larger magnitude is "unchanged";
    ``names``: how to cite the tables (default: the file names, or A and B)."""
    (da, name_a), (db, name_b) = _load(a, "A"), _load(b, "B")
    names = names or (name_a, name_b)
    roles = _roles(da), _roles(db)
    aux = roles[0][2] | roles[1][2]
    common = [c for c in da.columns if c in db.columns and c not in aux and c != "_row"]
    numeric = [c for c in common if da[c].dtype.is_numeric() or db[c].dtype.is_numeric()]
    mixed = [c for c in common if da[c].dtype != db[c].dtype]  # a date read as text, 100 vs 100.0
    cast = {c: pl.Float64() if c in numeric else pl.String() for c in mixed}
    ja, jb = da.cast(cast, strict=False), db.cast(cast, strict=False)  # type: ignore[arg-type]
    key_list = _choose_keys(ja, jb, keys, common, [c for c in common if c not in numeric], names)
    ms = [m for m in measurements or numeric if m not in key_list]
    if not ms or any(m not in common for m in ms):
        raise NonNumericMeasurement(f"no measurements {ms} in both tables", hint=f"both: {common}")
    for m in ms:
        _numeric(da, m, "A", names[0])
        _numeric(db, m, "B", names[1])
        if (has := [m in r[0] or "*" in r[0] for r in roles])[0] != has[1]:
            hint = "add the unit column to both"
            raise UnitMismatch(f"only {'AB'[has[1]]} gives a unit for '{m}'", hint=hint)
    long = _long(ja, key_list, ms, "a", names[0]).join(
        _long(jb, key_list, ms, "b", names[1]), on=[*key_list, "column"], how="full",
        coalesce=True, nulls_equal=True, maintain_order="left_right",
    )  # fmt: skip
    ua, ub = pl.col("unit_a"), pl.col("unit_b")
    if (bad := long.filter(ua.is_not_null() & ub.is_not_null() & (ua != ub))).height:
        r = bad.row(0, named=True)
        where = f"{r['unit_a']!r} in {names[0]} row {r['row_a']}, {r['unit_b']!r} in {names[1]}"
        msg = f"{r['column']} at {_keystr(r, key_list)} has {where} row {r['row_b']}"
        raise UnitMismatch(f"{bad.height} value(s) differ in unit: {msg}", hint="convert first")
    if limits is not None:
        lim, on = _given_limits(limits, key_list, ms)
        given = pl.col("_given").fill_null(False)
        long = long.join(lim, on=on, how="left", maintain_order="left").with_columns(
            pl.when(given).then(pl.col(f"_{f[:-2]}")).otherwise(pl.col(f)).alias(f) for f in _LIMITS
        )
    changes = _judge(long.sort("row_a", "row_b", nulls_last=True, maintain_order=True), tolerance)
    skipped = [c for c in common if c not in {*key_list, *ms}]
    return Comparison(changes, _summarise(changes, (da, db), key_list, ms, names, skipped))


def _judge(long: pl.DataFrame, tolerance: float) -> pl.DataFrame:
    """How each value changed and how it stands against its limits in A and in B."""
    va, vb = pl.col("value_a"), pl.col("value_b")

    def passes(s: str) -> pl.Expr:
        v, lo, hi = pl.col(f"value_{s}"), pl.col(f"low_{s}"), pl.col(f"high_{s}")
        fails = (v < lo).fill_null(False) | (v > hi).fill_null(False)
        return pl.when(v.is_null() | (lo.is_null() & hi.is_null())).then(None).otherwise(~fails)

    fail_a, fail_b = (pl.col(f"pass_{s}").not_().fill_null(False) for s in "ab")
    same = (vb - va).abs() <= tolerance * pl.max_horizontal(va.abs(), vb.abs())
    status = (
        pl.when(~pl.any_horizontal(pl.col(*_LIMITS).is_not_null())).then(None)
        .when(vb.is_null() & fail_a).then(pl.lit("removed_failing"))
        .when(fail_a & fail_b).then(pl.lit("still_failing"))
        .when(fail_b).then(pl.lit("new_violation"))
        .when(fail_a).then(pl.lit("fixed"))
        .when(va.is_not_null() | vb.is_not_null()).then(pl.lit("passing"))
    )  # fmt: skip
    change = (
        pl.when(va.is_null() & vb.is_not_null()).then(pl.lit("added"))
        .when(vb.is_null() & va.is_not_null()).then(pl.lit("removed"))
        .when(va.is_null() | same).then(pl.lit("unchanged"))
        .otherwise(pl.lit("changed"))
    )  # fmt: skip
    rel = pl.when(va != 0).then((vb - va) / va.abs())
    return long.with_columns(
        abs_change=vb - va, rel_change=rel, change=change, pass_a=passes("a"), pass_b=passes("b")
    ).select(pl.exclude("_low", "_high", "_given"), status.alias("limit_status"))


def _sentence(r: dict[str, object], keys: list[str], names: tuple[str, str]) -> str:
    """One value: how it moved, where it stands against its limits, cited in both files."""
    va, vb, pct = r["value_a"], r["value_b"], r["rel_change"]
    unit = f" {r['unit_b'] or r['unit_a'] or ''}".rstrip()
    long = "measurement" in keys  # long format: name the measurement, not the value column
    where = _keystr(r, [k for k in keys if k != "measurement"])
    text = f"{r['measurement' if long else 'column']} at {where}"
    if isinstance(va, float) and isinstance(vb, float):
        verb = "rose from" if vb > va else "fell from"
        text += f" {verb} {va:.6g} to {vb:.6g}{unit}" if va != vb else f" stayed at {vb:.6g}{unit}"
        text += f" ({pct * 100:+.1f} %)" if isinstance(pct, float) and pct else ""
    else:
        text += f" is {vb:.6g}{unit}, new in B" if vb is not None else f" was {va:.6g}{unit}"
    s = "b" if vb is not None else "a"
    v, lo, hi = r[f"value_{s}"], r[f"low_{s}"], r[f"high_{s}"]
    lim = hi if isinstance(v, float) and isinstance(hi, float) and v > hi else lo
    verb = "exceeds" if lim is hi else "falls below"
    bound = "" if lim is None else f"{verb} the limit {lim:.6g}"
    clause = {"new_violation": " and now {}", "still_failing": " and still {}",
              "fixed": " and is now within its limits",
              "removed_failing": ", gone in B (it {} in A)"}  # fmt: skip
    gone = "" if vb is not None else ", gone in B"
    text += clause.get(str(r["limit_status"]), gone).replace("{}", bound)
    at = [(lab, n, r[f"row_{s}"]) for lab, n, s in (("B", names[1], "b"), ("A", names[0], "a"))]
    cites = "; ".join(f"{lab}: {n} row {i}" for lab, n, i in at if i is not None)
    return f"{text} ({cites})."


def _listed(label: str, items: list[str]) -> list[str]:
    more = f"; and {len(items) - _CAP} more" if len(items) > _CAP else ""
    return [f"{label}: {'; '.join(items[:_CAP])}{more}."] if items else []


def _summarise(ch: Frame, tables: tuple[Frame, Frame], keys: list[str], ms: list[str],
               names: tuple[str, str], skipped: list[str]) -> ComparisonSummary:  # fmt: skip
    """Counts, then sentences: limit findings first, then the largest other changes."""
    status: dict[str | None, int] = dict(ch.group_by("limit_status").len().iter_rows())
    new, fixed, failing = (status.get(k, 0) for k in _FINDINGS[:3])
    changed = int((ch["change"] == "changed").sum())
    rows = ch.filter(pl.col("column") == ms[0])
    only = [rows.filter(pl.col(f"row_{o}").is_null()) for o in "ab"]  # only in B, only in A
    matched = rows.height - only[0].height - only[1].height
    says = [
        f"Compared {names[1]} (B, {tables[1].height} rows) with {names[0]} (A, "
        + f"{tables[0].height} rows) on {', '.join(keys)}: {matched} rows matched, "
        + f"{only[0].height} added, {only[1].height} removed; {changed} values changed; "
        + f"{new} new limit violations, {fixed} fixed, {failing} still failing."
    ]
    ranked = ch.with_columns(_size=pl.col("rel_change").abs().fill_null(float("inf")))
    ranked = ranked.sort("_size", descending=True, maintain_order=True)
    finding = pl.col("limit_status").is_in(_FINDINGS).fill_null(False)
    other = ranked.filter((pl.col("change") == "changed") & ~finding)
    for kind in (*_FINDINGS, "other"):
        picked = other if kind == "other" else ranked.filter(pl.col("limit_status") == kind)
        if kind == "other" and picked.height:
            says.append(f"Other changes ({picked.height}), largest first:")
        says += [_sentence(r, keys, names) for r in picked.head(_CAP).iter_rows(named=True)]
        if picked.height > _CAP and kind != "other":
            says.append(f"… and {picked.height - _CAP} more {kind.replace('_', ' ')} values.")
    for (side, name), frame in zip((("B", names[1]), ("A", names[0])), only, strict=True):
        row = f"row_{side.lower()}"
        at = [f"{_keystr(r, keys)} (row {r[row]})" for r in frame.rows(named=True)]
        says += _listed(f"Rows only in {side} ({name})", at)
    gained, lost = ([c for c in x.columns if c not in y.columns] for x, y in (tables[::-1], tables))
    says += [*_listed("Columns only in B", gained), *_listed("Columns only in A", lost)]
    says += _listed("Not compared", skipped)
    counts = {"rows_matched": matched, "rows_added": only[0].height,
              "rows_removed": only[1].height, "values_changed": changed, "new_violations": new,
              "fixed": fixed, "still_failing": failing}  # fmt: skip
    return ComparisonSummary(
        names, (*keys,), (*ms,), counts, (*gained,), (*lost,), (*skipped,), (*says,)
    )

"""Trigger conditions of condition-based campaigns, compiled safely to Polars expressions.

A condition is a boolean expression over VSS paths, numbers, comparisons,
arithmetic and ``and``/``or``/``not``, e.g.::

    Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature > 110
    Vehicle.Speed > 100 and Vehicle.Acceleration.Longitudinal < -4

It is parsed with Python's ``ast`` and only the node types above are accepted,
so nothing is ever evaluated as Python code.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import polars as pl

from drivetrain.errors import InputError

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], pl.Expr]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_ARITH: dict[type[ast.operator], Callable[[Any, Any], pl.Expr]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled trigger condition: the Polars expression and the signals it reads."""

    text: str
    expr: pl.Expr
    signals: frozenset[str]


def compile_condition(text: str, known_signals: Collection[str]) -> Condition:
    """Compile ``text`` into a :class:`Condition`; InputError says what is wrong and where."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise InputError(
            f"condition {text!r} does not parse at column {exc.offset}: {exc.msg}",
            hint="write e.g. 'Vehicle.Speed > 100 and Vehicle.Acceleration.Longitudinal < -4'",
        ) from None
    signals: set[str] = set()

    def path_of(node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            parts.append(node.id)
            return ".".join(reversed(parts))
        return None

    def build(node: ast.expr) -> Any:
        path = path_of(node)
        if path is not None:
            if path not in known_signals:
                raise InputError(
                    f"condition {text!r} names {path!r}, which is not in the signal catalog",
                    hint="use a VSS path such as Vehicle.Speed ('drivetrain catalog search')",
                )
            signals.add(path)
            return pl.col(path)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -build(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~_as_bool(build(node.operand))
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            return _ARITH[type(node.op)](build(node.left), build(node.right))
        if isinstance(node, ast.BoolOp):
            parts = [_as_bool(build(v)) for v in node.values]
            combined = parts[0]
            for part in parts[1:]:
                combined = combined & part if isinstance(node.op, ast.And) else combined | part
            return combined
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            left = build(node.left)
            result = None
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = build(right_node)
                term = _COMPARE[type(op)](left, right)
                result = term if result is None else result & term
                left = right
            return result
        raise InputError(
            f"condition {text!r} uses {ast.unparse(node)!r}, which conditions do not support",
            hint="use VSS paths, numbers, + - * /, comparisons, and/or/not",
        )

    expr = build(tree.body)
    if not isinstance(expr, pl.Expr) or not signals:
        raise InputError(f"condition {text!r} does not compare any signal")
    return Condition(text=text, expr=_as_bool(expr), signals=frozenset(signals))


def _as_bool(expr: Any) -> pl.Expr:
    if not isinstance(expr, pl.Expr):
        raise InputError(f"{expr!r} is a number, not a condition")
    return expr

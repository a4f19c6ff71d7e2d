"""The tables of ANSI/ASQ Z1.4 (MIL-STD-105E) behind ``drivetrain.quality.sampling``.

Table I (sample size code letters) and Tables II-A (normal), II-B (tightened) and
II-C (reduced) for single sampling, each master table parsed into a ``MasterTable``
whose ``resolve`` follows its arrows to a plan.

Sources: MIL-STD-105E (1989, public domain); ANSI/ASQ Z1.4-2003 (R2008,
R2013) keeps its tables unchanged. Encoded row by row below and cross-checked
cell by cell against independent reproductions: all resolved cells of the
three tables against the R package AQLSchemes (J. Lawson; AQLSchemesCust
fork), II-A's rows against a retyped MIL-STD-105E, the 0.65–15 columns of
II-A and II-B against the NIBS/FMOC "AC-TABLE" derived from MIL-STD-105E,
Table I against two reproductions. One disagreement: that AC-TABLE prints ↑
in II-A row A (n = 2) under AQL 10, where no plan lies above; the others go
down (C, n = 5, 1/2), as here. The tables are diagonal (one code letter down
= one AQL column left, same Ac/Re) except at edges: rows A under 10 and R
under 0.015 point the other way, II-B row A has no plan before AQL 40 and a
lone S row (n = 3150), and II-C rows A and B (n = 2) leave the diagonal above
AQL 15: row A repeats II-A's row A, row B has 2/4 and 3/5 before joining it.
The tests check the rule on every other cell.
"""

from __future__ import annotations

from dataclasses import dataclass

AQLS: tuple[float, ...] = (
    0.010, 0.015, 0.025, 0.040, 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5,
    4.0, 6.5, 10.0, 15.0, 25.0, 40.0, 65.0, 100.0, 150.0, 250.0, 400.0, 650.0, 1000.0,
)  # fmt: skip
Cell = tuple[int, int] | str  # (Ac, Re), or "v" / "^": use the first plan below / above

# Table I: upper end of each lot-size range (the last range, 500 001 and over, is open)
LOT_RANGES = (8, 15, 25, 50, 90, 150, 280, 500, 1200, 3200, 10_000, 35_000, 150_000, 500_000)
TABLE_I = {
    "S-1": "AAAABBBBCCCCDDD",
    "S-2": "AAABBBCCCDDDEEE",
    "S-3": "AABBCCDDEEFFGGH",
    "S-4": "AABCCDEEFGGHJJK",
    "I": "AABCCDEFGHJKLMN",
    "II": "ABCDEFGHJKLMNPQ",
    "III": "BCDEFGHJKLMNPQR",
}

# Tables II-A, II-B, II-C: code letter, sample size, then the cells of the AQL columns
# 0.010 … 1000 in order; "x*k" repeats cell x k times.
_TABLE_II: dict[str, tuple[tuple[str, int, str], ...]] = {
    "normal": (
        ("A", 2, "v*14 0/1 v*2 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31"),
        ("B", 3, "v*13 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45"),
        ("C", 5, "v*12 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^"),
        ("D", 8, "v*11 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^*2"),
        ("E", 13, "v*10 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^*3"),
        ("F", 20, "v*9 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*6"),
        ("G", 32, "v*8 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*7"),
        ("H", 50, "v*7 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*8"),
        ("J", 80, "v*6 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*9"),
        ("K", 125, "v*5 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*10"),
        ("L", 200, "v*4 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*11"),
        ("M", 315, "v*3 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*12"),
        ("N", 500, "v*2 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*13"),
        ("P", 800, "v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*14"),
        ("Q", 1250, "0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*15"),
        ("R", 2000, "^*2 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*16"),
    ),
    "tightened": (
        ("A", 2, "v*18 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28"),
        ("B", 3, "v*14 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42"),
        ("C", 5, "v*13 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^"),
        ("D", 8, "v*12 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^*2"),
        ("E", 13, "v*11 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^*3"),
        ("F", 20, "v*10 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*6"),
        ("G", 32, "v*9 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*7"),
        ("H", 50, "v*8 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*8"),
        ("J", 80, "v*7 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*9"),
        ("K", 125, "v*6 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*10"),
        ("L", 200, "v*5 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*11"),
        ("M", 315, "v*4 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*12"),
        ("N", 500, "v*3 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*13"),
        ("P", 800, "v*2 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*14"),
        ("Q", 1250, "v 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*15"),
        ("R", 2000, "0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*16"),
        ("S", 3150, "^*2 1/2 ^*23"),  # reached only through the arrows above it
    ),
    "reduced": (
        ("A", 2, "v*14 0/1 v*2 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31"),
        ("B", 2, "v*13 0/1 ^ v 0/2 1/3 2/4 3/5 5/6 7/8 10/11 14/15 21/22 30/31"),
        ("C", 2, "v*12 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14/17 21/24 ^"),
        ("D", 3, "v*11 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14/17 21/24 ^*2"),
        ("E", 5, "v*10 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14/17 21/24 ^*3"),
        ("F", 8, "v*9 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*6"),
        ("G", 13, "v*8 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*7"),
        ("H", 20, "v*7 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*8"),
        ("J", 32, "v*6 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*9"),
        ("K", 50, "v*5 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*10"),
        ("L", 80, "v*4 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*11"),
        ("M", 125, "v*3 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*12"),
        ("N", 200, "v*2 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*13"),
        ("P", 315, "v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*14"),
        ("Q", 500, "0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*15"),
        ("R", 800, "^*2 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*16"),
    ),
}


@dataclass(frozen=True, slots=True)
class MasterTable:
    """One of Tables II-A/B/C: a sample size and a row of cells per code letter."""

    letters: tuple[str, ...]
    sizes: tuple[int, ...]
    cells: tuple[tuple[Cell, ...], ...]

    def resolve(self, row: int, column: int) -> tuple[int, int, int]:
        """Follow the arrows from a cell: the row reached, its Ac and its Re."""
        while isinstance(cell := self.cells[row][column], str):
            row += 1 if cell == "v" else -1
        return row, cell[0], cell[1]


def _parse(rows: tuple[tuple[str, int, str], ...]) -> MasterTable:
    cells: list[tuple[Cell, ...]] = []
    for letter, _, text in rows:
        row: list[Cell] = []
        for token in text.split():
            cell, _, times = token.partition("*")
            value: Cell = cell if cell in ("v", "^") else _pair(cell)
            row.extend([value] * int(times or 1))
        if len(row) != len(AQLS):
            raise AssertionError(f"row {letter} has {len(row)} cells, not {len(AQLS)}")
        cells.append(tuple(row))
    return MasterTable(tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(cells))


def _pair(cell: str) -> tuple[int, int]:
    accept, reject = cell.split("/")
    return int(accept), int(reject)


TABLES: dict[str, MasterTable] = {name: _parse(rows) for name, rows in _TABLE_II.items()}

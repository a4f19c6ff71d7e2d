"""Reader for NASA's C-MAPSS turbofan degradation text files (Saxena et al., 2008).

Each line of ``train_FD00x.txt`` / ``test_FD00x.txt`` holds 26 space-separated
numbers: unit, cycle, three operational settings and 21 sensors. The
``RUL_FD00x.txt`` file lists the true remaining life of each test unit, in
unit order. Point the readers at your own copy of the data set; nothing here
knows where one lives.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from drivetrain.errors import InputError

UNIT = "unit"
CYCLE = "cycle"
SETTINGS = tuple(f"setting_{i}" for i in range(1, 4))
SENSORS = tuple(f"sensor_{i}" for i in range(1, 22))
COLUMNS = (UNIT, CYCLE, *SETTINGS, *SENSORS)


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    try:
        text = Path(path).read_text(encoding="ascii")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not a C-MAPSS text file ({exc.reason})") from exc
    return [(n, line.split()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def read_cmapss(path: str | Path) -> pa.Table:
    """One C-MAPSS trajectory file as a table: unit, cycle, setting_1..3, sensor_1..21."""
    rows = _lines(Path(path))
    if not rows:
        raise InputError(f"{path} holds no rows")
    columns: list[list[float]] = [[] for _ in COLUMNS]
    for n, fields in rows:
        if len(fields) != len(COLUMNS):
            raise InputError(
                f"{path}:{n}: {len(fields)} values, a C-MAPSS row has {len(COLUMNS)}",
                hint="unit, cycle, 3 settings and 21 sensors, separated by spaces",
            )
        try:
            values = [float(v) for v in fields]
        except ValueError as exc:
            raise InputError(f"{path}:{n}: {exc}") from exc
        if not (values[0].is_integer() and values[1].is_integer()):
            raise InputError(f"{path}:{n}: unit and cycle must be whole numbers, got {fields[:2]}")
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    arrays = [
        pa.array([int(v) for v in columns[0]], pa.int64()),
        pa.array([int(v) for v in columns[1]], pa.int64()),
        *(pa.array(c, pa.float64()) for c in columns[2:]),
    ]
    return pa.table(arrays, names=list(COLUMNS))


def read_cmapss_rul(path: str | Path) -> pa.Table:
    """The true RUL of each test unit (``RUL_FD00x.txt``): unit (1, 2, …), rul in cycles."""
    rows = _lines(Path(path))
    values: list[int] = []
    for n, fields in rows:
        if len(fields) != 1 or not fields[0].isdigit():
            raise InputError(f"{path}:{n}: expected one whole number of cycles, got {fields}")
        values.append(int(fields[0]))
    if not values:
        raise InputError(f"{path} holds no values")
    return pa.table(
        {UNIT: pa.array(range(1, len(values) + 1), pa.int64()), "rul": pa.array(values, pa.int64())}
    )

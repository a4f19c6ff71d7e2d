"""The reference readings of opendbc's DBC files shared by the parser and decoder tests."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import pytest

from drivetrain.catalog.dbc import available_dbcs, opendbc_source_files

ALL_DBCS = sorted(set(available_dbcs()) | set(opendbc_source_files()))


def dbc_text(name: str) -> str:
    """The text of an opendbc DBC, plain file or generated."""
    from opendbc import DBC_PATH, get_generated_dbcs

    generated: dict[str, str] = get_generated_dbcs()
    if name in generated:
        return generated[name]
    with open(os.path.join(DBC_PATH, f"{name}.dbc"), encoding="utf-8") as f:
        return f.read()


@cache
def cantools_db(name: str) -> Any | None:
    """cantools' reading of the unmodified file, or None when cantools refuses it."""
    cantools = pytest.importorskip("cantools")
    try:
        return cantools.database.load_string(dbc_text(name), database_format="dbc", strict=False)
    except cantools.database.UnsupportedDatabaseFormatError:
        return None

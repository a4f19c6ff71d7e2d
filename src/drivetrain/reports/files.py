"""Report files: written atomically, so a reader sees the old report or the new one.

The document goes to a temporary file in the target directory, is flushed to
disk, then renamed over the target (``os.replace``); a failure removes the
temporary file. A report that could not be built never reaches this point, so
nothing is left behind either.
"""

from __future__ import annotations

from pathlib import Path

from drivetrain.chart_files import write_atomic
from drivetrain.errors import InputError
from drivetrain.reports.registry import FORMATS, BuiltReport, Format, check_format

REPORTS_DIR = "reports"  # under the data directory, when no --out is given


def output_path(out: Path | None, fmt: str | None, default_dir: Path) -> tuple[Path | None, Format]:
    """Where to write and in which format: ``out``'s suffix decides when ``fmt`` is not given.

    Returns ``(None, format)`` when the file name is not known yet (no ``out``, or a
    directory): the built report names it (:attr:`BuiltReport.filename`) in ``default_dir``
    or in that directory.
    """
    suffix = out.suffix.lower().lstrip(".") if out is not None and not out.is_dir() else ""
    if out is not None and not out.is_dir() and not suffix:
        raise InputError(
            f"--out {out} is neither a directory nor a file name ending in .html or .pdf",
            hint="create the directory first, or name the file, e.g. fleet.pdf",
        )
    if fmt is None:
        fmt = suffix if suffix in FORMATS else "html"
    checked = check_format(fmt)
    if suffix and suffix != checked:
        raise InputError(
            f"--out {out} ends in .{suffix} but the format is {checked}",
            hint=f"name the file .{checked}, or pass --format {suffix if suffix in FORMATS else checked}",
        )
    if out is not None and not out.is_dir() and not out.parent.is_dir():
        raise InputError(
            f"cannot write the report to {out}: directory {out.parent} does not exist",
            hint="create it first, or choose another --out",
        )
    return (None if out is None or out.is_dir() else out), checked


def write_report(built: BuiltReport, path: Path) -> Path:
    """Write the rendered report to ``path`` atomically; returns ``path``."""
    write_atomic(path, built.content)
    return path

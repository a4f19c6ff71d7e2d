"""``drivetrain ota …`` — over-the-air updates (the signed-metadata foundation so far)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from drivetrain.cli.output import console, err_console
from drivetrain.errors import DrivetrainError
from drivetrain.ota import download_artifact, init_client, refresh_metadata

app = typer.Typer(
    help="Over-the-air updates: Uptane-style signed metadata (image and director repositories).",
    no_args_is_help=True,
)
tuf_app = typer.Typer(
    help=(
        "A TUF client answering the tuf-conformance client-under-test protocol "
        "(CLIENT-CLI.md): exit code 0 on success, 1 on any failure.\n\n"
        "Example: drivetrain ota tuf-client --metadata-dir /tmp/md "
        "--metadata-url http://127.0.0.1:8888/repo/metadata refresh"
    ),
    no_args_is_help=True,
)
app.add_typer(tuf_app, name="tuf-client")


@dataclass(frozen=True, slots=True)
class _TufOptions:
    metadata_dir: Path | None
    metadata_url: str | None
    target_name: str | None
    target_base_url: str | None
    target_dir: Path | None


def _options(ctx: typer.Context) -> _TufOptions:
    options = ctx.obj
    assert isinstance(options, _TufOptions)
    return options


def _metadata_dir(ctx: typer.Context) -> Path:
    """--metadata-dir, which every protocol command needs (optional only so --help works)."""
    found = _options(ctx).metadata_dir
    if found is None:
        raise _fail("the command needs --metadata-dir DIR (before the command)")
    return found


def _fail(message: str, hint: str | None = None) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    if hint:
        err_console.print(f"[dim]hint:[/] {hint}", highlight=False)
    return typer.Exit(1)


def _run_protocol_step(step: str, ctx: typer.Context) -> None:
    """Run one protocol command; every failure (not only ours) is exit code 1."""
    o = _options(ctx)
    metadata_dir = _metadata_dir(ctx)
    try:
        if step == "refresh":
            if not o.metadata_url:
                raise _fail("refresh needs --metadata-url URL")
            refresh_metadata(metadata_dir, o.metadata_url)
            console.print(f"refreshed the metadata in {metadata_dir}")
        else:
            missing = [
                flag
                for flag, value in (
                    ("--metadata-url", o.metadata_url),
                    ("--target-name", o.target_name),
                    ("--target-base-url", o.target_base_url),
                    ("--target-dir", o.target_dir),
                )
                if not value
            ]
            if missing:
                raise _fail(f"download needs {', '.join(missing)}")
            assert o.metadata_url and o.target_name and o.target_base_url and o.target_dir
            path = download_artifact(
                metadata_dir, o.metadata_url, o.target_name, o.target_base_url, o.target_dir
            )
            console.print(f"{o.target_name} verified in {path}")
    except DrivetrainError as exc:
        raise _fail(exc.message, exc.hint) from None
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - the protocol wants exit code 1 for any failure
        raise _fail(f"{step} failed: {exc.__class__.__name__}: {exc}") from None


@tuf_app.callback()
def tuf_client(
    ctx: typer.Context,
    metadata_dir: Annotated[
        Path | None,
        typer.Option("--metadata-dir", help="Where the client keeps trusted metadata (required)."),
    ] = None,
    metadata_url: Annotated[
        str | None, typer.Option("--metadata-url", help="Base URL of the repository metadata.")
    ] = None,
    target_name: Annotated[
        str | None, typer.Option("--target-name", help="TUF target path to download.")
    ] = None,
    target_base_url: Annotated[
        str | None, typer.Option("--target-base-url", help="Base URL of the target files.")
    ] = None,
    target_dir: Annotated[
        Path | None, typer.Option("--target-dir", help="Where verified targets are stored.")
    ] = None,
) -> None:
    """The options shared by the protocol's commands (given before the command)."""
    ctx.obj = _TufOptions(metadata_dir, metadata_url, target_name, target_base_url, target_dir)


@tuf_app.command("init")
def tuf_init(
    ctx: typer.Context,
    trusted_root: Annotated[Path, typer.Argument(help="The root.json to trust initially.")],
) -> None:
    """Trust TRUSTED_ROOT: store it as METADATA_DIR/root.json (no network request).

    Example: drivetrain ota tuf-client --metadata-dir /tmp/md init ./root.json
    """
    metadata_dir = _metadata_dir(ctx)
    try:
        path = init_client(metadata_dir, trusted_root)
    except DrivetrainError as exc:
        raise _fail(exc.message, exc.hint) from None
    except Exception as exc:  # noqa: BLE001 - the protocol wants exit code 1 for any failure
        raise _fail(f"init failed: {exc.__class__.__name__}: {exc}") from None
    console.print(f"trusting {trusted_root} as {path}")


@tuf_app.command("refresh")
def tuf_refresh(ctx: typer.Context) -> None:
    """Update the top-level metadata by the TUF client workflow.

    Example: drivetrain ota tuf-client --metadata-dir /tmp/md
    --metadata-url http://127.0.0.1:8888/repo/metadata refresh
    """
    _run_protocol_step("refresh", ctx)


@tuf_app.command("download")
def tuf_download(ctx: typer.Context) -> None:
    """Refresh, then download and verify --target-name into --target-dir.

    Example: drivetrain ota tuf-client --metadata-dir /tmp/md
    --metadata-url http://127.0.0.1:8888/repo/metadata --target-name a/b.txt
    --target-base-url http://127.0.0.1:8888/repo/targets --target-dir /tmp/t download
    """
    _run_protocol_step("download", ctx)

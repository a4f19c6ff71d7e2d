"""``drivetrain ota init|release|images``: the image repository from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table, settings_of
from drivetrain.errors import InputError, NotFound
from drivetrain.ota import DirectorRepository, ImageRepository
from drivetrain.settings import Settings

MAX_IMAGE_BYTES = 2 * 1024**3  # a released image is read whole to hash and sign it


def ota_dir(settings: Settings) -> Path:
    """Where the image and director repositories live (``DATA_DIR/ota``)."""
    return settings.data_dir / "ota"


def image_repository(settings: Settings) -> ImageRepository:
    """The data directory's image repository (NotFound says how to create it)."""
    folder = ota_dir(settings) / "image"
    try:
        return ImageRepository(folder)
    except NotFound:
        raise NotFound(
            f"no image repository in {folder}", hint="create both with: drivetrain ota init"
        ) from None


@handle_errors
def init(ctx: typer.Context) -> None:
    """Create the image and director repositories with fresh keys (once per deployment).

    Keys are ed25519 files (mode 0600) under each repository's keys/ directory; keep
    the image repository's root and targets keys offline after this. See docs/ota.md.
    Example: drivetrain ota init
    """
    settings = settings_of(ctx)
    folder = ota_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    image = ImageRepository.create(folder / "image")
    director = DirectorRepository.create(folder / "director")
    console.print(
        f"image repository {image.repo_dir} and director {director.repo_dir} created "
        f"(root version {image.root.signed.version} and {director.root.signed.version})"
    )


@handle_errors
def release(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The software image to release.")],
    hardware_id: Annotated[
        str, typer.Option("--hardware-id", help="ECU hardware it is for, e.g. 5YJ-BMS-2024.")
    ],
    version: Annotated[str, typer.Option("--version", help="Its version, e.g. 2.1.0.")],
    counter: Annotated[
        int,
        typer.Option(
            "--counter",
            min=0,
            help="Release counter, rising per hardware: a vehicle refuses a lower one.",
        ),
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="Target path (default: HARDWARE/FILE-VERSION).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Sign a software image into the image repository (length, SHA-256, SHA-512, hardware).

    Released images are immutable: a new build is a new version under a new path.
    Example: drivetrain ota release bms.bin --hardware-id 5YJ-BMS --version 2.1.0 --counter 21
    """
    settings = settings_of(ctx)
    if not file.is_file():
        raise InputError(f"{file} is not a file", hint="give the path of the image to release")
    size = file.stat().st_size
    if size == 0 or size > MAX_IMAGE_BYTES:
        raise InputError(f"{file} has {size:,} bytes; an image has 1 byte to 2 GiB")
    path = name or f"{hardware_id.lower()}/{file.stem}-{version}{file.suffix}"
    image = image_repository(settings).add_image(
        path, file.read_bytes(), hardware_id=hardware_id, version=version, release_counter=counter
    )
    if as_json:
        print_json(
            {"path": image.path, "length": image.length, "hashes": image.hashes,
             "hardware_id": image.hardware_id, "version": image.version,
             "release_counter": image.release_counter}
        )  # fmt: skip
        return
    console.print(
        f"released [bold]{image.path}[/] ({image.length:,} bytes, sha256 "
        f"{image.hashes['sha256'][:16]}…) for {image.hardware_id}, version {image.version}, "
        f"counter {image.release_counter}",
        highlight=False,
    )


@handle_errors
def images(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The released images: path, hardware, version, counter, length.

    Example: drivetrain ota images --json
    """
    listed = image_repository(settings_of(ctx)).images()
    rows = [
        {"path": i.path, "hardware_id": i.hardware_id, "version": i.version,
         "release_counter": i.release_counter, "length": i.length}
        for i in sorted(listed, key=lambda i: (i.hardware_id, i.release_counter))
    ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    print_table(
        f"{len(rows)} image(s)",
        ("path", "hardware", "version", "counter", "bytes"),
        ((r["path"], r["hardware_id"], r["version"], r["release_counter"], f"{r['length']:,}")
         for r in rows),
    )  # fmt: skip

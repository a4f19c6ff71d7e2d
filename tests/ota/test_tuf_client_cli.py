"""``drivetrain ota tuf-client``: the tuf-conformance client-under-test protocol (CLIENT-CLI.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from drivetrain.cli.ota import app
from drivetrain.ota.metadata_store import utc_now
from tests.ota.conftest import BMS_IMAGE, UpdateWorld

runner = CliRunner()


def _client(world: UpdateWorld, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["tuf-client", *args])
    return result.exit_code, result.output


def _init(world: UpdateWorld, md: Path) -> None:
    root = world.tmp / "initial_root.json"
    root.write_bytes(world.image.root_bytes(1))
    assert _client(world, "--metadata-dir", str(md), "init", str(root))[0] == 0


def _urls(world: UpdateWorld, md: Path) -> list[str]:
    return ["--metadata-url", f"{world.server.url}/image/metadata", "--metadata-dir", str(md)]


def _download(world: UpdateWorld, md: Path, name: str = "bms/bms-2.1.0.bin") -> int:
    code, _ = _client(
        world,
        *_urls(world, md),
        "--target-name", name,
        "--target-dir", str(world.tmp / "targets"),
        "--target-base-url", f"{world.server.url}/image/targets",
        "download",
    )  # fmt: skip
    return code


def test_init_stores_the_trusted_root_without_requests(world: UpdateWorld) -> None:
    md = world.tmp / "md"
    _init(world, md)

    assert (md / "root.json").read_bytes() == world.image.root_bytes(1)
    assert _client(world, "--metadata-dir", str(md), "init", str(world.tmp / "none.json"))[0] == 1


def test_refresh_stores_unversioned_top_level_metadata(world: UpdateWorld) -> None:
    md = world.tmp / "md"
    _init(world, md)
    world.image.rotate_key("root", "root-1", "root-2")

    code, _ = _client(world, *_urls(world, md), "refresh")

    assert code == 0
    for role in ("root", "timestamp", "snapshot", "targets"):
        assert (md / f"{role}.json").is_file()
    assert (md / "root.json").read_bytes() == world.image.root_bytes(2)


def test_download_verifies_and_caches_the_artifact(world: UpdateWorld) -> None:
    md = world.tmp / "md"
    _init(world, md)

    assert _download(world, md) == 0
    files = [p for p in (world.tmp / "targets").iterdir() if p.is_file()]
    assert [p.read_bytes() for p in files] == [BMS_IMAGE]
    world.image.blob_path(world.bms_image).unlink()  # a cached artifact is not fetched again
    assert _download(world, md) == 0


def test_every_failure_is_exit_code_1(world: UpdateWorld) -> None:
    md = world.tmp / "md"
    _init(world, md)
    assert _client(world, "--metadata-dir", str(md), "refresh")[0] == 1  # no --metadata-url
    assert _download(world, md, "bms/not-there.bin") == 1
    blob = world.image.blob_path(world.bms_image)
    blob.write_bytes(blob.read_bytes()[:-1] + b"?")
    assert _download(world, md) == 1
    assert not any(p.is_file() for p in (world.tmp / "targets").iterdir())

    world.image.clock = lambda: utc_now() - timedelta(days=3)
    world.image.refresh_timestamp()
    code, output = _client(world, *_urls(world, md), "refresh")
    assert code == 1
    assert "expired" in output

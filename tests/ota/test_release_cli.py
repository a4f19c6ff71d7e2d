"""``drivetrain ota init|release|images``: images signed into the data directory's repository."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tuf.api.metadata import Metadata, Root, Targets
from typer.testing import CliRunner

from drivetrain.cli.main import app

runner = CliRunner()


def _run(data: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data), "ota", *args])
    return result.exit_code, result.stdout, result.stderr


def test_release_signs_the_image_so_that_the_root_keys_verify_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    image = tmp_path / "bms.bin"
    image.write_bytes(b"\x7fBMS firmware 2.1.0" * 1000)
    code, _, err = _run(data, "release", str(image), "--hardware-id", "X", "--version", "1",
                        "--counter", "1")  # fmt: skip
    assert code != 0 and "drivetrain ota init" in err  # nothing to release into yet
    assert _run(data, "init")[0] == 0
    code, out, err = _run(data, "release", str(image), "--hardware-id", "5YJ-BMS",
                          "--version", "2.1.0", "--counter", "21", "--json")  # fmt: skip
    assert code == 0, err
    released = json.loads(out)
    assert released["path"] == "5yj-bms/bms-2.1.0.bin"
    assert released["hashes"]["sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
    assert released["length"] == image.stat().st_size
    metadata = data / "ota" / "image" / "metadata"

    def newest(role: str) -> str:
        return str(max(metadata.glob(f"*.{role}.json"), key=lambda p: int(p.name.split(".")[0])))

    root = Metadata[Root].from_file(newest("root"))
    targets = Metadata[Targets].from_file(newest("targets"))
    root.verify_delegate("targets", targets)  # python-tuf's own check of signatures and threshold
    signed = targets.signed.targets[released["path"]]
    assert signed.hashes["sha512"] == hashlib.sha512(image.read_bytes()).hexdigest()
    assert signed.unrecognized_fields["custom"]["release_counter"] == 21
    code, out, _ = _run(data, "images", "--json")
    assert code == 0 and [i["path"] for i in json.loads(out)] == [released["path"]]


def test_a_released_path_is_immutable_and_bad_files_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _run(data, "init")[0] == 0
    assert _run(data, "init")[0] != 0  # a second init would replace the root of trust
    image = tmp_path / "ecu.bin"
    image.write_bytes(b"one")
    args = ("release", str(image), "--hardware-id", "HW", "--version", "1.0", "--counter", "1")
    assert _run(data, *args)[0] == 0
    image.write_bytes(b"two")
    code, _, err = _run(data, *args)
    assert code != 0 and "immutable" in err
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    code, _, err = _run(data, "release", str(empty), "--hardware-id", "HW", "--version", "2",
                        "--counter", "2")  # fmt: skip
    assert code != 0 and "0 bytes" in err
    code, _, _ = _run(data, "release", str(image), "--hardware-id", "HW", "--version", "3",
                      "--counter", "-1")  # fmt: skip
    assert code != 0

"""A private Mosquitto broker per test, on a free port, that a test may stop and restart.

The system broker on 127.0.0.1:1883 is never touched. The broker keeps its
persistent sessions on disk (``persistence true``) so QoS 1 messages queued
for the gateway survive a restart. Without the ``mosquitto`` binary the tests
are skipped with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """One mosquitto process with on-disk persistence under ``workdir``."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.port = _free_port()
        self.workdir = workdir
        self.config = workdir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {workdir}/\n"
            "max_queued_messages 0\n"
            "log_dest stderr\n"
            # run as root, mosquitto would switch to user 'mosquitto', who cannot write here
            f"user {getpass.getuser()}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.workdir / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: see {self.workdir / 'mosquitto.log'}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on port {self.port} within 10 s")

    def stop(self) -> None:
        """Graceful stop (SIGTERM): mosquitto writes its persistence file first."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A running private broker; stopped at the end of the test."""
    if MOSQUITTO is None:
        reason = "the mosquitto binary is not installed (apt-get install mosquitto)"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it")
        pytest.skip(reason)
    workdir = tmp_path / "broker"
    workdir.mkdir()
    b = Broker(MOSQUITTO, workdir)
    b.start()
    try:
        yield b
    finally:
        b.stop()

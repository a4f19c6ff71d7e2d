"""Serve repository metadata and images over plain HTTP (embedded default and tests).

TUF needs no transport security for integrity — every byte a vehicle uses is
checked against signed metadata — so a static file server suffices. Only the
``metadata/`` and ``targets/`` trees are routed; a repository's ``keys/`` are
never reachable.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Mapping
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from drivetrain.ota.repository import DirectorRepository, ImageRepository


def repository_routes(image: ImageRepository, director: DirectorRepository) -> dict[str, Path]:
    """URL prefixes of the standard layout: ``/image/…`` and ``/director/<vehicle>/…``."""
    return {
        "/image/metadata/": image.metadata_dir,
        "/image/targets/": image.targets_dir,
        "/director/": director.repo_dir / "vehicles",
    }


class _Handler(SimpleHTTPRequestHandler):
    routes: Mapping[str, Path] = {}

    def translate_path(self, path: str) -> str:
        clean = posixpath.normpath(unquote(urlsplit(path).path))
        if path.endswith("/"):
            clean += "/"
        for prefix, directory in self.routes.items():
            if clean.startswith(prefix):
                rest = [p for p in clean[len(prefix) :].split("/") if p not in ("", ".", "..")]
                return str(directory.joinpath(*rest))
        return "/nonexistent/drivetrain-ota"

    def list_directory(self, path: str | Any) -> None:
        self.send_error(404, "no directory listings")

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests log through pytest
        return


class RepositoryServer:
    """A threaded HTTP server for ``routes`` on ``host``; port 0 picks a free one."""

    def __init__(self, routes: Mapping[str, Path], host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("RoutedHandler", (_Handler,), {"routes": dict(routes)})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

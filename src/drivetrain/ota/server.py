"""Serve repository metadata and images over plain HTTP (embedded default and tests).

TUF needs no transport security for integrity — every byte a vehicle uses is
checked against signed metadata — so a static file server suffices. Only the
``metadata/`` and ``targets/`` trees are routed; a repository's ``keys/`` are
never reachable.

The one thing a vehicle sends is its signed version manifest:
``POST /director/<vehicle_id>/manifest`` goes to the server's
``manifests`` sink (``drivetrain.ota.manifests.ManifestReceiver``), which
answers with a status and a JSON body.
"""

from __future__ import annotations

import json
import posixpath
import re
import threading
from collections.abc import Callable, Mapping
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from drivetrain.ota.repository import DirectorRepository, ImageRepository

#: ``sink(vehicle_id, body)`` takes a posted manifest; returns an HTTP status and a JSON body.
ManifestSink = Callable[[str, bytes], tuple[int, dict[str, Any]]]
MAX_MANIFEST_BYTES = 1 << 20
_MANIFEST_PATH = re.compile(r"^/director/([A-Za-z0-9][A-Za-z0-9._:-]{0,127})/manifest$")


def repository_routes(image: ImageRepository, director: DirectorRepository) -> dict[str, Path]:
    """URL prefixes of the standard layout: ``/image/…`` and ``/director/<vehicle>/…``."""
    return {
        "/image/metadata/": image.metadata_dir,
        "/image/targets/": image.targets_dir,
        "/director/": director.repo_dir / "vehicles",
    }


class _Handler(SimpleHTTPRequestHandler):
    routes: Mapping[str, Path] = {}
    manifests: ManifestSink | None = None

    def do_POST(self) -> None:
        match = _MANIFEST_PATH.match(unquote(urlsplit(self.path).path))
        sink = type(self).manifests
        if match is None or sink is None:
            self._answer(404, {"title": "not found", "detail": "only manifests may be posted"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._answer(411, {"title": "length required"})
            return
        if length < 0 or length > MAX_MANIFEST_BYTES:
            self.close_connection = True  # the body is never read
            self._answer(413, {"title": "manifest too large", "limit": MAX_MANIFEST_BYTES})
            return
        self._answer(*sink(match.group(1), self.rfile.read(length)))

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        kind = "application/json" if status < 400 else "application/problem+json"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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
    """A threaded HTTP server for ``routes`` on ``host``; port 0 picks a free one.

    With ``manifests``, vehicles may post their version manifests to it.
    """

    def __init__(
        self,
        routes: Mapping[str, Path],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        manifests: ManifestSink | None = None,
    ) -> None:
        handler = type(
            "RoutedHandler",
            (_Handler,),
            {"routes": dict(routes), "manifests": staticmethod(manifests) if manifests else None},
        )
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

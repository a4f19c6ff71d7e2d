"""Grounded answers: cited, faithful, "not found" instead of a guess, labels respected."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from drivetrain.copilot import DocumentIndex, MiniLMEmbedder
from drivetrain.copilot.answers import NOT_FOUND, answer, prompt_text, unsupported_sentences
from drivetrain.copilot.providers import OpenAICompatibleProvider, provider_from_settings
from drivetrain.errors import ConfigError
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import explain
from drivetrain.settings import load_settings

MEMO = """# Brake bulletin TSB-2026-114

## Front caliper bolts

The front brake caliper guide bolts of the 2026 Tipo must be tightened to 28 Nm
and secured with thread locker. Replace any bolt whose thread is damaged.
"""


@pytest.fixture(scope="module")
def specs(
    corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder
) -> DocumentIndex:
    """The Uptane and TUF specifications (Markdown), and a restricted service bulletin."""
    folder = tmp_path_factory.mktemp("answers")
    memo = folder / "tsb-2026-114.md"
    memo.write_text(MEMO)
    index = DocumentIndex.open(folder / "index", embedder=embedder)
    report = index.add([corpus_dir / "uptane/uptane-standard.md", corpus_dir / "tuf/tuf-spec.md"])
    assert not report.failed
    index.add([memo], labels={"service"})
    return index


def test_an_extractive_answer_is_cited_and_faithful(specs: DocumentIndex) -> None:
    result = answer(
        specs, "What should a client do when a new timestamp file has expired?", labels={"public"}
    )
    assert result.found and result.method == "extractive" and 0 < result.confidence <= 1
    assert "freeze attack" in result.text  # the TUF client workflow's instruction
    assert all(c.passage.source.endswith("tuf-spec.md") for c in result.citations)
    numbers = [c.number for c in result.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    assert unsupported_sentences(result.text, [c.passage for c in result.citations]) == []
    assert "[1]" in result.text and result.citations[0].cite().startswith("[1] ")


def test_questions_the_documents_do_not_answer_are_not_guessed(specs: DocumentIndex) -> None:
    for question in ("How do I bake sourdough bread?", "Who won the 1998 football world cup?"):
        result = answer(specs, question, labels={"public"})
        assert not result.found and result.text == NOT_FOUND and result.citations == []


def test_a_reader_never_gets_an_answer_from_a_passage_they_may_not_read(
    specs: DocumentIndex,
) -> None:
    question = "What torque do the front brake caliper guide bolts need?"
    public = answer(specs, question, labels={"public"})
    assert all("tsb-2026-114" not in c.passage.source for c in public.citations)
    assert "28 Nm" not in public.text
    service = answer(specs, question, labels={"public", "service"})
    assert service.found and "28 Nm" in service.text
    assert service.citations[0].passage.source.endswith("tsb-2026-114.md")


def test_every_answer_is_recorded_with_its_passages(specs: DocumentIndex, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    result = answer(
        specs, "What does the Director repository do?", labels={"public"}, audit=audit,
        principal="erin",
    )  # fmt: skip
    assert result.output_id is not None
    explained = explain(audit, result.output_id)
    assert explained.output_kind == "copilot_answer" and explained.principal == "erin"
    assert explained.sources == [c.cite() for c in result.citations]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the socket closes


def test_an_unreachable_model_degrades_to_the_extractive_answer(specs: DocumentIndex) -> None:
    provider = OpenAICompatibleProvider(f"http://127.0.0.1:{_closed_port()}/v1", "any", timeout_s=2)
    result = answer(specs, "What does the Director repository do?", labels={"public"},
                    provider=provider)  # fmt: skip
    assert result.found and result.method == "extractive"
    assert result.degraded is not None and "cannot be reached" in result.degraded


def test_the_faithfulness_check_flags_what_no_citation_supports(specs: DocumentIndex) -> None:
    passages = specs.search("Director repository", 2, labels={"public"})
    supported = f"{passages[0].text.split('.')[0]}. [1]"
    invented = "The Director repository is written in COBOL and runs on mainframes. [1]"
    uncited = "The Director repository signs metadata."
    flagged = unsupported_sentences(f"{supported} {invented} {uncited}", passages)
    assert flagged == [invented, uncited]


def test_provider_settings_are_checked() -> None:
    assert provider_from_settings(load_settings()) is None  # the extractive default
    with pytest.raises(ConfigError, match="no model"):
        provider_from_settings(load_settings(llm_base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(ConfigError, match="not an http"):
        OpenAICompatibleProvider("ftp://example/v1", "m")
    configured = provider_from_settings(
        load_settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="m", llm_api_key="s3cret")
    )
    assert configured is not None and "s3cret" not in configured.name + repr(configured)
    assert "NOT_FOUND" in prompt_text()  # the versioned prompt ships with the package

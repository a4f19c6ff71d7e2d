"""Document access: labels granted by the access policy, and a principal's brand scope."""

from __future__ import annotations

from pathlib import Path

from drivetrain.copilot import DocumentIndex
from drivetrain.copilot.access import index_labels, readable_labels, reader_filters
from drivetrain.governance.principals import Principal

FIAT_ENGINEER = Principal.of(
    "fia", roles=["product_engineer"], brands=["Fiat"], regions=["eu"], country="IT"
)
ANALYST = Principal.of("ana", roles=["fleet_analyst"], brands=["*"], regions=["eu"], country="DE")


def _index(tmp_path: Path) -> DocumentIndex:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, body in (
        ("fiat.md", "# Tipo brakes\n\nThe Tipo caliper bolts take 28 Nm of torque.\n"),
        ("peugeot.md", "# 308 brakes\n\nThe 308 caliper bolts take 32 Nm of torque.\n"),
        ("general.md", "# Brakes in general\n\nCaliper bolts are torqued to specification.\n"),
        ("design.md", "# Caliper design review\n\nThe caliper bolt torque margin is 20 %.\n"),
    ):
        (docs / name).write_text(body)
    index = DocumentIndex.open(tmp_path / "index", dense=False)
    index.add([docs / "fiat.md"], brand="Fiat")
    index.add([docs / "peugeot.md"], brand="Peugeot")
    index.add([docs / "general.md"])
    index.add([docs / "design.md"], labels={"engineering"})
    return index


def test_labels_come_from_the_policy(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert index_labels(index) == {"public", "engineering"}
    assert readable_labels(FIAT_ENGINEER, index_labels(index)) == {"public", "engineering"}
    assert readable_labels(ANALYST, index_labels(index)) == {"public"}


def test_a_brand_scoped_reader_sees_its_brand_and_brandless_documents(tmp_path: Path) -> None:
    index = _index(tmp_path)
    labels = readable_labels(FIAT_ENGINEER, index_labels(index))
    filters = reader_filters(FIAT_ENGINEER, index)
    assert filters is not None
    hits = index.search("caliper bolt torque", 10, labels=labels, filters=filters, mode="bm25")
    seen = {Path(p.source).name for p in hits}
    assert seen == {"fiat.md", "general.md", "design.md"}
    everyone = reader_filters(ANALYST, index)
    assert everyone is not None
    hits = index.search("caliper bolt torque", 10, labels={"public"}, filters=everyone, mode="bm25")
    seen = {Path(p.source).name for p in hits}
    assert seen == {"fiat.md", "peugeot.md", "general.md"}
    volvo = Principal.of("vic", roles=["fleet_analyst"], brands=["Volvo"], regions=["eu"],
                         country="SE")  # fmt: skip
    only_brands = DocumentIndex.open(tmp_path / "brands", dense=False)
    only_brands.add([tmp_path / "docs/fiat.md"], brand="Fiat")
    assert reader_filters(volvo, only_brands) is None  # nothing in scope to search


def test_an_index_without_embeddings_answers_from_bm25(tmp_path: Path) -> None:
    from drivetrain.copilot.answers import answer

    index = _index(tmp_path)
    assert index.embedder is None
    found = answer(index, "caliper bolt torque on the Tipo", labels={"public"})
    assert found.citations and "28 Nm" in found.text

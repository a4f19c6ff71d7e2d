"""Loading a file: format dispatch, metadata precedence, access labels, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivetrain.copilot import (
    DEFAULT_LABEL,
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    UnsupportedFormat,
    load_document,
)
from drivetrain.copilot.documents import DocumentDefaults, doc_id_of, expand_paths
from drivetrain.errors import InputError

FRONT = '---\ntitle: "Front title"\nversion: "1.2"\nlabels: [Engineering]\n---\n# H\n\nBody.\n'


def test_sidecar_beats_front_matter_beats_arguments_and_labels_add_up(tmp_path: Path) -> None:
    doc = tmp_path / "spec.md"
    doc.write_text(FRONT)
    (tmp_path / "spec.md.meta.toml").write_text('brand = "Jeep"\nlabels = ["secret"]\n')
    args = DocumentDefaults(labels=("service",), brand="Fiat", program="P1", version="9.9")
    meta = load_document(doc, args).meta
    assert meta.title == "Front title"
    assert meta.version == "1.2"  # front matter over argument
    assert meta.brand == "Jeep"  # sidecar over argument
    assert meta.program == "P1"  # argument when nothing else says
    assert meta.labels == ("engineering", "secret", "service")  # union, lower-cased
    assert meta.source == doc.resolve().as_posix()
    assert meta.doc_id == doc_id_of(meta.source)


def test_default_label_and_title_from_the_file_name(tmp_path: Path) -> None:
    doc = tmp_path / "notes.txt"
    doc.write_text("\n\n" + "x " * 200 + "\n")
    meta = load_document(doc, DocumentDefaults()).meta
    assert meta.labels == (DEFAULT_LABEL,)
    assert meta.title == "notes"  # the first line is too long to be a title


def test_content_hash_follows_bytes_and_sidecar(tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text("Text.\n")
    first = load_document(doc, DocumentDefaults()).meta.content_hash
    assert load_document(doc, DocumentDefaults()).meta.content_hash == first
    (tmp_path / "a.md.meta.toml").write_text('version = "2"\n')
    assert load_document(doc, DocumentDefaults()).meta.content_hash != first


@pytest.mark.parametrize(
    ("name", "content", "error", "message"),
    [
        ("a.docx", b"PK\x03\x04", UnsupportedFormat, "no reader for '.docx'"),
        ("LICENSE", b"text", UnsupportedFormat, "no extension"),
        ("e.md", b"  \n\n", EmptyDocument, "is empty"),
        ("f.md", b"---\ntitle: only front matter\n---\n", EmptyDocument, "no text"),
        ("b.txt", b"\x00\x01binary\x00", CorruptDocument, "binary"),
    ],
)
def test_unreadable_files_raise_input_errors_with_hints(
    tmp_path: Path, name: str, content: bytes, error: type[InputError], message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=message) as caught:
        load_document(path, DocumentDefaults())
    assert isinstance(caught.value, InputError) and caught.value.hint


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(DocumentTooLarge, match="over the limit"):
        load_document(path, DocumentDefaults(), max_bytes=1000)
    assert load_document(path, DocumentDefaults(), max_bytes=10_000).parsed.blocks


def test_invalid_sidecar_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("Text.\n")
    (tmp_path / "a.md.meta.toml").write_text("labels = [unclosed\n")
    with pytest.raises(InputError, match="sidecar"):
        load_document(tmp_path / "a.md", DocumentDefaults())


def test_latin1_text_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "l.txt"
    path.write_bytes("Bremsflüssigkeit prüfen.\n".encode("cp1252"))
    assert "Bremsflüssigkeit" in load_document(path, DocumentDefaults()).parsed.blocks[0].text


def test_expand_paths_walks_folders_but_skips_hidden_files_and_sidecars(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("a.md", "sub/b.pdf", "sub/c.bin", ".hidden.md", ".git/x.md", "a.md.meta.toml"):
        (tmp_path / name).write_text("x")
    found = {p.relative_to(tmp_path).as_posix(): named for p, named in expand_paths([tmp_path])}
    assert found == {"a.md": False, "sub/b.pdf": False, "sub/c.bin": False}
    assert list(expand_paths([tmp_path / "a.md"])) == [(tmp_path / "a.md", True)]

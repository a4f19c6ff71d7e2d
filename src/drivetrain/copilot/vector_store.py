"""The chunk and document tables, in LanceDB: text, metadata, labels and vectors.

LanceDB keeps each table as versioned Lance (Arrow) files in the index folder:
no server, columnar, and a vector search that takes a SQL filter applied
*before* the nearest-neighbour step (``prefilter``), so a label or brand filter
never eats into the k results. The chunks table is the source of truth of the
index; the lexical index is rebuilt from it when the two disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import lancedb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from lancedb.query import LanceVectorQueryBuilder

from drivetrain.copilot.models import DocumentMeta, Span

CHUNKS = "chunks"
DOCUMENTS = "documents"
_SPAN_FIELDS = (
    "line_start",
    "line_end",
    "page_start",
    "page_end",
    "row_start",
    "row_end",
    "char_start",
    "char_end",
)

DOCUMENT_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("source", pa.string()),
        ("format", pa.string()),
        ("title", pa.string()),
        ("version", pa.string()),
        ("date", pa.string()),
        ("brand", pa.string()),
        ("program", pa.string()),
        ("labels", pa.list_(pa.string())),
        ("content_hash", pa.string()),
        ("size_bytes", pa.int64()),
        ("chunks", pa.int32()),
        ("indexed_at", pa.timestamp("ns", tz="UTC")),
    ]
)


def chunk_schema(dim: int | None) -> pa.Schema:
    fields = [
        pa.field("chunk_id", pa.string(), nullable=False),
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("ordinal", pa.int32()),
        pa.field("kind", pa.string()),
        pa.field("text", pa.string()),
        pa.field("search_text", pa.string()),
        pa.field("heading_path", pa.list_(pa.string())),
        pa.field("title", pa.string()),
        pa.field("source", pa.string()),
        pa.field("version", pa.string()),
        pa.field("brand", pa.string()),
        pa.field("program", pa.string()),
        pa.field("labels", pa.list_(pa.string())),
        pa.field("content_hash", pa.string()),
        pa.field("embed_hash", pa.string()),
        pa.field("duplicate_of", pa.string()),
        pa.field("words", pa.int32()),
        *(pa.field(name, pa.int64()) for name in _SPAN_FIELDS),
    ]
    if dim is not None:
        fields.append(pa.field("vector", pa.list_(pa.float32(), dim)))
    return pa.schema(fields)


def sql_str(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(sql_str(v) for v in values) + ")"


def span_of(row: dict[str, Any]) -> Span:
    return Span(**{name: row.get(name) for name in _SPAN_FIELDS})


def span_columns(spans: Sequence[Span]) -> dict[str, list[int | None]]:
    return {name: [getattr(s, name) for s in spans] for name in _SPAN_FIELDS}


KEEP_VERSIONS = timedelta(hours=1)  # old table versions compact() keeps for readers


@dataclass(frozen=True, slots=True)
class DenseHit:
    chunk_id: str
    similarity: float


class ChunkStore:
    """The LanceDB tables of one index folder."""

    def __init__(self, folder: Path, dim: int | None) -> None:
        self.dim = dim
        self._metas: dict[str, DocumentMeta] | None = None
        self._labels: frozenset[str] | None = None
        self._db = lancedb.connect(str(folder))
        names = set(self._db.list_tables().tables)
        schema = chunk_schema(dim)
        if CHUNKS in names:
            self.chunks = self._db.open_table(CHUNKS)
            if self.chunks.count_rows() == 0 and self.chunks.schema != schema:
                self._db.drop_table(CHUNKS)  # empty, made for another vector size: remake it
                names.discard(CHUNKS)
        if CHUNKS not in names:
            self.chunks = self._db.create_table(CHUNKS, schema=schema)
        self.documents = (
            self._db.open_table(DOCUMENTS)
            if DOCUMENTS in names
            else self._db.create_table(DOCUMENTS, schema=DOCUMENT_SCHEMA)
        )

    # -- documents ----------------------------------------------------------------------
    def known_labels(self) -> frozenset[str]:
        """Every access label of an indexed document (cached like the metas)."""
        if self._labels is None:
            self._labels = frozenset(v for m in self.document_metas().values() for v in m.labels)
        return self._labels

    def document_metas(self) -> dict[str, DocumentMeta]:
        """Every indexed document by source path (cached until the next write)."""
        if self._metas is None:
            self._metas = self._read_metas()
        return dict(self._metas)

    def _read_metas(self) -> dict[str, DocumentMeta]:
        rows = self.documents.to_arrow().to_pylist()
        return {
            r["source"]: DocumentMeta(
                doc_id=r["doc_id"],
                source=r["source"],
                format=r["format"],
                title=r["title"],
                version=r["version"],
                date=r["date"],
                brand=r["brand"],
                program=r["program"],
                labels=tuple(r["labels"] or ()),
                content_hash=r["content_hash"],
                size_bytes=r["size_bytes"],
            )
            for r in rows
        }

    def documents_table(self) -> pa.Table:
        return self.documents.to_arrow().sort_by("source")

    # -- writes -------------------------------------------------------------------------
    def replace(
        self,
        remove_doc_ids: Sequence[str],
        metas: Sequence[tuple[DocumentMeta, int]],
        chunk_rows: pa.Table,
    ) -> None:
        """Delete the chunks and rows of ``remove_doc_ids``, then write the new ones."""
        self._metas = None
        self._labels = None
        if remove_doc_ids:
            where = f"doc_id IN {sql_list(remove_doc_ids)}"
            self.chunks.delete(where)
            self.documents.delete(where)
        if chunk_rows.num_rows:
            self.chunks.add(chunk_rows.select(self.chunks.schema.names))
        if metas:
            now = datetime.now(UTC)
            self.documents.add(
                pa.Table.from_pylist(
                    [
                        {
                            "doc_id": m.doc_id,
                            "source": m.source,
                            "format": m.format,
                            "title": m.title,
                            "version": m.version,
                            "date": m.date,
                            "brand": m.brand,
                            "program": m.program,
                            "labels": list(m.labels),
                            "content_hash": m.content_hash,
                            "size_bytes": m.size_bytes,
                            "chunks": n,
                            "indexed_at": now,
                        }
                        for m, n in metas
                    ],
                    schema=DOCUMENT_SCHEMA,
                )
            )

    # -- reads --------------------------------------------------------------------------
    def count(self) -> int:
        return int(self.chunks.count_rows())

    def scan(self, columns: Sequence[str], where: str | None = None) -> pa.Table:
        query = self.chunks.search()
        if where:
            query = query.where(where)
        return query.select(list(columns)).limit(None).to_arrow()

    def known_vectors(self, embed_hashes: Iterable[str]) -> dict[str, npt.NDArray[np.float32]]:
        """Vectors already stored for these embedding inputs (so they are not computed again)."""
        wanted = sorted(set(embed_hashes))
        if self.dim is None or not wanted:
            return {}
        found: dict[str, npt.NDArray[np.float32]] = {}
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            table = self.scan(["embed_hash", "vector"], f"embed_hash IN {sql_list(part)}")
            if not table.num_rows:
                continue
            vectors = table.column("vector").combine_chunks().flatten().to_numpy()
            matrix = vectors.reshape(table.num_rows, self.dim).astype(np.float32)
            for h, v in zip(table.column("embed_hash").to_pylist(), matrix, strict=True):
                found[h] = v
        return found

    def first_of_hashes(
        self, content_hashes: Iterable[str], exclude: Sequence[str]
    ) -> dict[str, str]:
        """The chunk already holding each text (content hash → chunk id), outside ``exclude`` docs."""
        wanted = sorted(set(content_hashes))
        found: dict[str, str] = {}
        for i in range(0, len(wanted), 500):
            where = f"content_hash IN {sql_list(wanted[i : i + 500])}"
            if exclude:
                where += f" AND doc_id NOT IN {sql_list(exclude)}"
            table = self.scan(["content_hash", "chunk_id"], where)
            for h, cid in zip(
                table.column("content_hash").to_pylist(),
                table.column("chunk_id").to_pylist(),
                strict=True,
            ):
                if h not in found or cid < found[h]:
                    found[h] = cid
        return found

    def fetch(self, chunk_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Rows (without vectors) of the given chunks, by chunk id."""
        if not chunk_ids:
            return {}
        columns = [n for n in self.chunks.schema.names if n not in ("vector", "search_text")]
        table = self.scan(columns, f"chunk_id IN {sql_list(chunk_ids)}")
        return {r["chunk_id"]: r for r in table.to_pylist()}

    def dense_search(
        self, vector: npt.NDArray[np.float32], limit: int, where: str | None
    ) -> list[DenseHit]:
        """Nearest chunks by cosine similarity among those passing ``where``."""
        if self.dim is None or limit <= 0:
            return []
        query = cast(
            LanceVectorQueryBuilder,
            self.chunks.search(vector.astype(np.float32), vector_column_name="vector"),
        ).distance_type("cosine")
        if where:
            query = query.where(where, prefilter=True)
        table = query.select(["chunk_id", "_distance"]).limit(limit).to_arrow()
        return [
            DenseHit(cid, 1.0 - float(d))
            for cid, d in zip(
                table.column("chunk_id").to_pylist(),
                table.column("_distance").to_pylist(),
                strict=True,
            )
        ]

    def create_vector_index(self, *, min_rows: int = 20_000) -> bool:
        """Build an IVF-HNSW-SQ index on the vectors once the table is big enough to need one.

        Below ``min_rows`` an exact (flat) search is fast and exact, so nothing is built.
        """
        rows = self.count()
        if self.dim is None or rows < min_rows:
            return False
        indexed = next((i for i in self.chunks.list_indices() if "vector" in i.columns), None)
        if indexed is not None:
            # an existing index takes new rows in optimize() (compact); a rebuild is only
            # worth it once the table has doubled since it was trained (its partitions
            # were sized for the old count): a no-op rebuild took 52 s at 100k chunks
            stats = self.chunks.index_stats(indexed.name)
            trained = int(stats.num_indexed_rows) if stats is not None else 0
            if rows < 2 * max(trained, 1):
                return False
        from lancedb.index import IvfHnswSq

        partitions = max(1, min(256, rows // 4096))
        self.chunks.create_index(
            "vector", config=IvfHnswSq(distance_type="cosine", num_partitions=partitions)
        )
        return True

    def compact(self) -> None:
        """Merge the small files many adds leave behind and drop old versions."""
        from lancedb.index import BTree, LabelList

        names = {i.name for i in self.chunks.list_indices()}
        if "chunk_id_idx" not in names:
            self.chunks.create_index("chunk_id", config=BTree())
        if "labels_idx" not in names:
            self.chunks.create_index("labels", config=LabelList())
        # drop versions older than an hour: LanceDB keeps 7 days by default (595 MB on disk
        # for 325 MB of live data at 100k chunks). Not zero: a reader still on an older
        # version would fail (LanceDB warns), and no search takes an hour.
        self.chunks.optimize(cleanup_older_than=KEEP_VERSIONS)
        self.documents.optimize(cleanup_older_than=KEEP_VERSIONS)

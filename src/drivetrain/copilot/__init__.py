"""Knowledge copilot: document ingestion, hybrid retrieval, grounded answers, comparisons.

    index = DocumentIndex.open(settings.data_dir / "copilot")
    report = index.add(["manuals/", "bulletins/tsb-042.pdf"], labels={"service"}, brand="Fiat")
    passages = index.search("torque of the wheel bolts", k=5, labels={"public", "service"})
    passages_to_table(passages)      # the same results as an Arrow table

Markdown, HTML, PDF, plain text and CSV/Parquet tables are chunked by their
structure (headings, sections, table row groups), located for citation, and
indexed twice: BM25 in tantivy and all-MiniLM-L6-v2 vectors in LanceDB, fused
by reciprocal rank fusion. A passage is returned only to a reader holding all
of its access labels; the filter applies inside both stores.
"""

from drivetrain.copilot.answers import Answer, Citation, answer, unsupported_sentences
from drivetrain.copilot.chunking import DEFAULT_MAX_WORDS, chunk_document
from drivetrain.copilot.compare import Comparison, ComparisonError, compare_results
from drivetrain.copilot.diff import DocumentDiff, SectionChange, diff_documents
from drivetrain.copilot.documents import (
    DEFAULT_LABEL,
    DEFAULT_MAX_BYTES,
    SUPPORTED_EXTENSIONS,
    load_document,
)
from drivetrain.copilot.embeddings import MiniLMEmbedder, TextEmbedder
from drivetrain.copilot.errors import (
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    UnreadableDocument,
    UnsupportedFormat,
)
from drivetrain.copilot.index import DocumentIndex
from drivetrain.copilot.models import (
    Chunk,
    DocumentMeta,
    FileOutcome,
    IngestReport,
    Location,
    Passage,
    Span,
    passages_to_table,
)
from drivetrain.copilot.providers import (
    LLMProvider,
    OpenAICompatibleProvider,
    ProviderError,
    provider_from_settings,
)
from drivetrain.copilot.retrieval import (
    RRF_K,
    Reranker,
    SearchFilters,
    SearchMode,
    reciprocal_rank_fusion,
)

__all__ = [
    "DEFAULT_LABEL",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_WORDS",
    "RRF_K",
    "SUPPORTED_EXTENSIONS",
    "Answer",
    "Chunk",
    "Citation",
    "Comparison",
    "ComparisonError",
    "CorruptDocument",
    "DocumentDiff",
    "DocumentIndex",
    "DocumentMeta",
    "DocumentTooLarge",
    "EmptyDocument",
    "EncryptedDocument",
    "FileOutcome",
    "IngestReport",
    "LLMProvider",
    "Location",
    "MiniLMEmbedder",
    "OpenAICompatibleProvider",
    "Passage",
    "ProviderError",
    "Reranker",
    "SearchFilters",
    "SearchMode",
    "SectionChange",
    "Span",
    "TextEmbedder",
    "UnreadableDocument",
    "UnsupportedFormat",
    "answer",
    "chunk_document",
    "compare_results",
    "diff_documents",
    "load_document",
    "passages_to_table",
    "provider_from_settings",
    "reciprocal_rank_fusion",
    "unsupported_sentences",
]

"""``/api/v1/copilot``: grounded answers from the indexed documents, and the documents.

The index is the one ``drivetrain docs add`` builds in ``settings.copilot_dir``;
without it every route answers 404 with the command to build it. A caller reads
a document only if the access policy grants every one of its labels
(``documents:<label>``) for the purpose (``engineering_support`` unless the
request names another) and the document's brand is within the caller's brands,
as ``drivetrain ask`` and ``docs list`` decide. The answer is the configured
LLM's, or the extractive one built from the passages' own sentences when no
LLM is configured; either way it cites its passages and is recorded with its
provenance (``output_id``).
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import Page, PageParams, Purpose, access_context, page_params, paginate
from drivetrain.api.problems import PROBLEM_RESPONSES
from drivetrain.copilot import DocumentIndex, SearchFilters
from drivetrain.copilot.access import PURPOSE, index_labels, readable_labels, reader_filters
from drivetrain.copilot.answers import answer
from drivetrain.copilot.index import MANIFEST
from drivetrain.copilot.providers import provider_from_settings
from drivetrain.errors import NotFound
from drivetrain.governance.governed_read import default_enforcer
from drivetrain.governance.principals import Principal

router = APIRouter(prefix="/api/v1/copilot", tags=["copilot"], responses=PROBLEM_RESPONSES)
CopilotReader = Annotated[Caller, Depends(require("copilot:read"))]
_OPENING = threading.Lock()  # one thread opens (and loads the model), the others wait


def document_index(request: Request) -> DocumentIndex:
    """The copilot's index, opened once per version of its manifest; NotFound without one.

    Kept on the app rather than in the services' cache: that one is keyed on the lake's
    versions, and reopening the index (and its embedding model) on every ingested batch
    would cost seconds a question.
    """
    folder = services_of(request).settings.copilot_dir
    manifest = folder / MANIFEST
    try:
        stat = manifest.stat()
    except FileNotFoundError:
        raise NotFound(
            f"there is no document index in {folder.name}/ of the data directory",
            hint="index documents first: drivetrain docs add PATH…",
        ) from None
    stamp = (str(folder), stat.st_mtime_ns, stat.st_size)
    with _OPENING:
        held = getattr(request.app.state, "copilot_index", None)
        if held is None or held[0] != stamp:
            held = (stamp, DocumentIndex.open(folder))
            request.app.state.copilot_index = held
    index: DocumentIndex = held[1]
    return index


def reader(
    index: DocumentIndex, principal: Principal, purpose: str
) -> tuple[frozenset[str], SearchFilters | None]:
    """The labels ``principal`` may read for ``purpose``, and its brand scope's filters."""
    labels = readable_labels(
        principal, index_labels(index), enforcer=default_enforcer(), purpose=purpose
    )
    return labels, reader_filters(principal, index)


def shown_source(source: str, data_dir: FilePath) -> str:
    """A document's source as the API shows it: relative to the data directory if under it.

    The index keys documents by the path they were added from; the server's own
    layout (an absolute path, a user's home) is not the caller's business.
    """
    path = FilePath(source)
    if not path.is_absolute():
        return source
    try:
        return path.relative_to(data_dir.resolve()).as_posix()
    except ValueError:
        return path.name


class Document(BaseModel):
    source: str = Field(description="Relative to the server's data directory, or the file name.")
    format: str
    title: str | None
    version: str | None
    brand: str | None
    program: str | None
    labels: list[str]
    passages: int
    indexed_at: datetime | None


@router.get("/documents", response_model=Page[Document], summary="The documents you may read")
def documents(
    request: Request, caller: CopilotReader, page: Annotated[PageParams, Depends(page_params)]
) -> Page[Document]:
    access_context(request, caller, PURPOSE)
    index = document_index(request)
    labels, filters = reader(index, caller.principal, PURPOSE)
    in_scope = None if filters is None else filters.source
    shown = [
        Document(
            source=shown_source(row["source"], services_of(request).data_dir),
            format=row["format"],
            title=row["title"],
            version=row["version"],
            brand=row["brand"],
            program=row["program"],
            labels=list(row["labels"] or ()),
            passages=int(row["chunks"] or 0),
            indexed_at=row["indexed_at"],
        )
        for row in index.documents().to_pylist()
        if filters is not None
        and set(row["labels"] or ()) <= labels
        and (in_scope is None or row["source"] in in_scope)
    ]
    return paginate(shown, page)


class Question(BaseModel):
    question: str = Field(
        min_length=1, max_length=2000, examples=["What does the Director repository do?"]
    )
    purpose: Purpose = Field(default=Purpose.engineering_support)  # type: ignore[attr-defined]
    k: int = Field(default=5, ge=1, le=20, description="Passages to answer from.")


class Cited(BaseModel):
    number: int = Field(description="The [n] of the answer's text.")
    citation: str
    source: str
    text: str


class Answer(BaseModel):
    question: str
    answer: str
    found: bool = Field(description="False: 'Not found in the documents.'")
    confidence: float
    method: str = Field(description="extractive, or the LLM provider's name.")
    degraded: str | None = Field(description="Why an LLM answer fell back to extractive.")
    unsupported: list[str] = Field(description="Sentences no citation supports.")
    citations: list[Cited]
    output_id: str | None


@router.post("/ask", response_model=Answer, summary="A grounded answer, with citations")
def ask(body: Question, request: Request, caller: CopilotReader) -> Answer:
    context = access_context(request, caller, body.purpose.value)
    services = services_of(request)
    index = document_index(request)
    labels, filters = reader(index, caller.principal, context.purpose)
    if filters is None:  # no document within the caller's brands: nothing to answer from
        labels, filters = frozenset(), SearchFilters()
    result = answer(
        index,
        body.question,
        labels=labels,
        provider=provider_from_settings(services.settings),
        k=body.k,
        filters=filters,
        audit=services.audit,
        principal=caller.principal_id,
        purpose=context.purpose,
    )
    return Answer(
        question=body.question,
        answer=result.text,
        found=result.found,
        confidence=result.confidence,
        method=result.method,
        degraded=result.degraded,
        unsupported=result.unsupported,
        citations=[
            Cited(
                number=c.number,
                citation=c.passage.location.cite(),
                source=shown_source(c.passage.source, services.data_dir),
                text=c.passage.text,
            )
            for c in result.citations
        ],
        output_id=result.output_id,
    )

"""The copilot page: ask the indexed documents a question, get a cited answer or "not found".

Both are the API's copilot routes called as functions with the page's caller
(scope ``copilot:read``): ``/api/v1/copilot/documents`` lists what the caller
may read (the policy's ``documents:<label>`` grants for ``engineering_support``
and the caller's brands), and the question goes to ``/api/v1/copilot/ask``,
so the answer, its citations and its provenance record are the API's. Without
a configured LLM (the demo's settings) the answer is the extractive one, built
from the passages' own sentences at once; no model is waited for.

The question is a form post, checked for the session's CSRF token like every
console form. An empty or overlong question is shown back on the form with
what is wrong (400), not sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from drivetrain.api.auth import Caller
from drivetrain.api.context import Page, PageParams
from drivetrain.api.routers import copilot as copilot_api
from drivetrain.api.routers.copilot import Answer, CopilotReader, Document, Question
from drivetrain.copilot.access import PURPOSE
from drivetrain.web.pages import render
from drivetrain.web.session import form_writer

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
EVERY = 10_000_000  # every readable document, to name the ones an answer cites
PASSAGE_CHOICES = (3, 5, 10)
SNIPPET = 320  # characters of a cited passage shown before "more"
CopilotForm = Annotated[Caller, Depends(form_writer("copilot:read"))]
_CITE = re.compile(r"\[(\d+)\]")
MAX_QUESTION = 2000  # the API's limit; longer ones get the form back with the reason
MAX_FORM_TEXT = 20_000  # beyond this the form is not read at all (422)


@dataclass(frozen=True, slots=True)
class AnswerPiece:
    """A stretch of the answer's text, or the ``[n]`` citing passage ``n``."""

    text: str
    number: int | None = None


@dataclass(frozen=True, slots=True)
class CitedPassage:
    """A citation as the page lists it: its document's title, the place, a snippet."""

    number: int
    citation: str
    source: str
    title: str | None
    snippet: str
    rest: str


@router.get("/copilot")
def copilot_page(
    request: Request,
    caller: CopilotReader,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The question form and the documents the caller may read."""
    return _page(request, caller, offset=offset)


@router.post("/copilot")
def ask(
    request: Request,
    caller: CopilotForm,
    question: Annotated[str, Form(max_length=MAX_FORM_TEXT)] = "",
    k: Annotated[int, Form(ge=1, le=20)] = 5,
) -> Response:
    """Ask the documents ``question``: the API's grounded answer, or the form's error."""
    text = question.strip()
    error = None
    if not text:
        error = "Type a question first: the copilot answers from the documents you may read."
    elif len(text) > MAX_QUESTION:
        error = (
            f"The question is {len(text):,} characters long; ask it in at most "
            f"{MAX_QUESTION:,} characters."
        )
    if error is None:
        try:
            body = Question(question=text, k=k)
        except ValidationError as exc:  # what the API itself would refuse
            error = "; ".join(str(e.get("msg", "")) for e in exc.errors())
    if error is not None:
        return _page(request, caller, question=question, k=k, error=error, status=400)
    found = copilot_api.ask(body, request, caller)
    return _page(request, caller, question=text, k=k, answer=found)


def _page(
    request: Request,
    caller: Caller,
    *,
    offset: int = 0,
    question: str = "",
    k: int = 5,
    error: str | None = None,
    answer: Answer | None = None,
    status: int = 200,
) -> Response:
    documents = copilot_api.documents(request, caller, PageParams(limit=PAGE_SIZE, offset=offset))
    cited: list[CitedPassage] = []
    pieces: list[AnswerPiece] = []
    if answer is not None:
        titles = _titles(request, caller) if answer.citations else {}
        cited = [_cited(c, titles.get(c.source)) for c in answer.citations]
        pieces = answer_pieces(answer.answer, {c.number for c in answer.citations})
    return render(
        request,
        "copilot.html",
        {
            "documents": documents,
            "question": question,
            "k": k,
            "choices": sorted({*PASSAGE_CHOICES, k}),
            "max_question": MAX_QUESTION,
            "error": error,
            "answer": answer,
            "pieces": pieces,
            "cited": cited,
            "purpose": PURPOSE,
        },
        status=status,
    )


def _titles(request: Request, caller: Caller) -> dict[str, str | None]:
    """The title of every document the caller may read, by source."""
    every: Page[Document] = copilot_api.documents(
        request, caller, PageParams(limit=EVERY, offset=0)
    )
    return {d.source: d.title for d in every.items}


def _cited(cited: copilot_api.Cited, title: str | None) -> CitedPassage:
    text = " ".join(cited.text.split())
    cut = text.rfind(" ", 0, SNIPPET) if len(text) > SNIPPET else len(text)
    cut = cut if cut > 0 else SNIPPET
    return CitedPassage(
        number=cited.number,
        citation=cited.citation,
        source=cited.source,
        title=title,
        snippet=text[:cut],
        rest=text[cut:].strip(),
    )


def answer_pieces(text: str, numbers: set[int]) -> list[AnswerPiece]:
    """``text`` split at its ``[n]`` markers; a marker of no listed citation stays text."""
    pieces: list[AnswerPiece] = []
    last = 0
    for match in _CITE.finditer(text):
        number = int(match.group(1))
        if number not in numbers:
            continue
        if match.start() > last:
            pieces.append(AnswerPiece(text[last : match.start()]))
        pieces.append(AnswerPiece(match.group(0), number))
        last = match.end()
    if last < len(text):
        pieces.append(AnswerPiece(text[last:]))
    return pieces

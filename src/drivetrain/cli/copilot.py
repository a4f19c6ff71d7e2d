"""drivetrain docs … and drivetrain ask: the knowledge copilot from the command line."""

from __future__ import annotations

from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated

import typer

from drivetrain.cli.output import (
    console,
    handle_errors,
    print_json,
    print_table,
    settings_of,
)
from drivetrain.copilot import DocumentIndex, SearchFilters, SearchMode, passages_to_table
from drivetrain.copilot.access import PURPOSE, index_labels, readable_labels, reader_filters
from drivetrain.copilot.answers import answer
from drivetrain.copilot.providers import provider_from_settings
from drivetrain.demo.copilot_tour import CopilotTour
from drivetrain.errors import NotFound
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.governance.provenance import record_output
from drivetrain.settings import Settings

docs_app = typer.Typer(
    help="Index engineering, service and specification documents, and search them.",
    no_args_is_help=True,
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AsPrincipal = Annotated[
    str,
    typer.Option(
        "--as",
        help="Principal who reads (principals_file): only documents whose every access "
        "label the policy grants them, for purpose engineering_support, are searched.",
    ),
]
Mode = Annotated[str, typer.Option("--mode", help="hybrid (BM25 + dense, fused), bm25 or dense.")]


def _index(settings: Settings, *, must_exist: bool = True) -> DocumentIndex:
    folder = settings.copilot_dir
    if must_exist and not folder.is_dir():
        raise NotFound(
            f"no document index in {folder}",
            hint="index documents first: drivetrain docs add PATH…",
        )
    return DocumentIndex.open(folder)


def _reader(
    settings: Settings, index: DocumentIndex, principal_id: str, brand: str | None = None
) -> tuple[frozenset[str], SearchFilters | None]:
    """The labels the principal may read, and the filters of its brand scope (None: no
    document is within it)."""
    principal = principal_named(settings.resolved_principals_file, principal_id)
    labels = readable_labels(principal, index_labels(index))
    return labels, reader_filters(principal, index, brand=brand)


@docs_app.command("add")
@handle_errors
def add(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index.")],
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="Access label(s) for these documents (default public)."),
    ] = None,
    brand: Annotated[str | None, typer.Option(help="Brand the documents are about.")] = None,
    program: Annotated[str | None, typer.Option(help="Vehicle program.")] = None,
    version: Annotated[str | None, typer.Option(help="Document version.")] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove indexed files under PATHS that are gone.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Index documents: Markdown, HTML, PDF, plain text, CSV/Parquet test results.

    Unchanged files are skipped, changed ones re-indexed (only changed passages are
    re-embedded); a file that cannot be read is reported and the rest go on.
    Example: drivetrain docs add manuals/ bulletins/tsb-042.pdf --label service --brand Fiat
    """
    settings = settings_of(ctx)
    settings.ensure_data_dir()
    index = _index(settings, must_exist=False)
    with console.status(f"indexing {len(paths)} path(s) …"):
        report = index.add(
            paths, labels=label or (), brand=brand, program=program, version=version, prune=prune
        )
    table = report.to_table()
    if as_json:
        print_json({"files": table.to_pylist(), "chunks_added": report.chunks_added})
        return
    print_table(
        f"{len(report.files)} file(s): {report.chunks_added} passages added in "
        f"{report.seconds:.1f} s",
        ("file", "status", "passages", "reason"),
        ((r["source"], r["status"], r["chunks"], r["reason"] or "") for r in table.to_pylist()),
    )
    if report.failed:
        console.print(f"[yellow]{len(report.failed)} file(s) could not be indexed (see above)[/]")


@docs_app.command("search")
@handle_errors
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    as_: AsPrincipal,
    k: Annotated[int, typer.Option("-k", help="Passages to show.", min=1, max=100)] = 5,
    mode: Mode = "hybrid",
    brand: Annotated[str | None, typer.Option(help="Only documents of this brand.")] = None,
    as_json: AsJson = False,
) -> None:
    """The passages that best match QUERY, with where each comes from.

    Example: drivetrain docs search "director repository metadata" --as erin
    """
    settings = settings_of(ctx)
    index = _index(settings)
    labels, filters = _reader(settings, index, as_, brand)
    if mode not in ("hybrid", "bm25", "dense"):
        raise typer.BadParameter("--mode must be hybrid, bm25 or dense")
    search_mode: SearchMode = mode  # type: ignore[assignment]  # checked just above
    passages = (
        index.search(query, k, labels=labels, mode=search_mode, filters=filters)
        if filters is not None
        else []
    )
    if as_json:
        print_json(passages_to_table(passages).to_pylist())
        return
    if not passages:
        console.print("no passage matches (or none you may read)")
    for n, p in enumerate(passages, start=1):
        console.print(f"[bold]{n}. {p.location.cite()}[/]", highlight=False)
        console.print(f"   {' '.join(p.text.split())[:300]}", highlight=False)


@docs_app.command("list")
@handle_errors
def list_documents(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The indexed documents: format, title, labels, passages.

    Example: drivetrain docs list --json
    """
    table = _index(settings_of(ctx)).documents()
    rows = table.select(["source", "format", "title", "labels", "chunks"]).to_pylist()
    if as_json:
        print_json(rows)
        return
    print_table(
        f"{len(rows)} document(s)",
        ("source", "format", "title", "labels", "passages"),
        ((r["source"], r["format"], r["title"], ", ".join(r["labels"]), r["chunks"]) for r in rows),
    )


@handle_errors
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question, in plain words.")],
    as_: AsPrincipal,
    k: Annotated[int, typer.Option("-k", help="Passages to answer from.", min=1, max=20)] = 5,
    as_json: AsJson = False,
) -> None:
    """Answer a question from the indexed documents, citing the passages used.

    With an LLM configured (DRIVETRAIN_LLM_BASE_URL, _MODEL, _API_KEY: any
    OpenAI-compatible endpoint) the model writes the answer from the passages and
    it streams; without one the answer is built from the passages' own sentences.
    Either way it says "Not found in the documents." rather than guess, and is
    recorded for `drivetrain explain`.
    Example: drivetrain ask "What does the Director repository do?" --as erin
    """
    settings = settings_of(ctx)
    index = _index(settings)
    labels, filters = _reader(settings, index, as_)
    if filters is None:  # no document within the principal's brands: nothing to answer from
        labels, filters = frozenset(), SearchFilters()
    provider = provider_from_settings(settings)
    streamed = provider is not None and not as_json
    result = answer(
        index,
        question,
        labels=labels,
        provider=provider,
        k=k,
        filters=filters,
        audit=AuditLog(settings.data_dir),
        principal=as_,
        purpose=PURPOSE,
        on_text=(lambda piece: console.print(piece, end="", highlight=False)) if streamed else None,
    )
    if as_json:
        print_json(
            {
                "question": question,
                "answer": result.text,
                "found": result.found,
                "confidence": result.confidence,
                "method": result.method,
                "degraded": result.degraded,
                "unsupported": result.unsupported,
                "citations": [
                    {
                        "number": c.number,
                        "citation": c.passage.location.cite(),
                        "source": c.passage.source,
                        "text": c.passage.text,
                    }
                    for c in result.citations
                ],
                "output_id": result.output_id,
            }
        )
        return
    if streamed and result.method != "extractive":
        console.print()
    else:
        if result.degraded:
            console.print(f"\n[yellow]{result.degraded}[/]", highlight=False)
        console.print(result.text, highlight=False)
    for c in result.citations:
        console.print(f"[dim]{c.cite()}[/]", highlight=False)
    if result.unsupported:
        console.print(
            f"[yellow]{len(result.unsupported)} sentence(s) not supported by the passages "
            "they cite[/]"
        )
    console.print(
        f"[dim]{result.method}, confidence {result.confidence:.2f}; "
        f"drivetrain explain {result.output_id}[/]"
    )


def print_copilot_tour(tour: CopilotTour) -> None:
    """The demo's copilot section: what was indexed, two answers with their citations."""
    if tour.report is None:
        console.print("no documentation folder found beside this installation: skipped")
        return
    report = tour.report
    console.print(
        f"[dim]$ drivetrain docs add {' '.join(str(f) for f in tour.folders)}[/]\n"
        f"{len(report.files)} files, {report.chunks_added} passages indexed in "
        f"{report.seconds:.0f} s (BM25 + all-MiniLM-L6-v2, fused); "
        f"{len(report.failed)} could not be read",
        highlight=False,
    )
    for result in tour.answers:
        console.print(
            f'[dim]$ drivetrain ask "{result.question}" --as engineer[/]', highlight=False
        )
        console.print(result.text, highlight=False)
        for c in result.citations:
            console.print(f"   [dim]{c.cite()}[/]", highlight=False)


copilot_app = typer.Typer(help="The knowledge copilot's evaluation.", no_args_is_help=True)
_CHECKOUT = Path(__file__).resolve().parents[3]


@copilot_app.command("evaluate")
@handle_errors
def evaluate(
    ctx: typer.Context,
    questions: Annotated[
        Path, typer.Option(help="Question set (TOML) with the expected passages.")
    ] = _CHECKOUT / "tests/copilot/eval_questions.toml",
    corpus: Annotated[Path, typer.Option(help="The corpus the set is written for.")] = (
        _CHECKOUT.parent / "shared/data/docs"
    ),
    as_json: AsJson = False,
) -> None:
    """Score retrieval (BM25, dense, hybrid) and answers against a question set.

    Indexes CORPUS into <data-dir>/copilot-eval (reused when unchanged), then reports
    recall@1/5/10, MRR@10 and nDCG@10 per retriever, and for the answers: questions
    answered, answers citing an expected passage, unanswerable questions refused and
    sentences supported by their citations. Recorded for `explain`.
    Example: drivetrain copilot evaluate --corpus ../shared/data/docs
    """
    from drivetrain.copilot.answer_eval import evaluate_answers
    from drivetrain.copilot.evaluation import check_questions, evaluate_retrieval, load_questions

    settings = settings_of(ctx)
    for path, what in ((questions, "question set"), (corpus, "corpus")):
        if not path.exists():
            raise NotFound(f"the {what} {path} does not exist", hint=f"pass --{what.split()[-1]}")
    asked = load_questions(questions)
    missing = check_questions(asked, corpus)
    if missing:
        raise NotFound(
            f"{len(missing)} expected passage(s) are not in {corpus}: {missing[0]}",
            hint="the question set and the corpus do not belong together",
        )
    settings.ensure_data_dir()
    index = DocumentIndex.open(settings.data_dir / "copilot-eval")
    with console.status(f"indexing {corpus} …"):
        index.add([corpus])
    with console.status(f"asking {len(asked)} questions in three modes …"):
        retrieval = evaluate_retrieval(index, asked)
        answers, _ = evaluate_answers(index, asked, provider=provider_from_settings(settings))
    output_id = record_output(
        AuditLog(settings.data_dir),
        kind="copilot_evaluation",
        model="drivetrain.copilot (BM25, all-MiniLM-L6-v2, RRF; answers)",
        version=package_version("drivetrain"),
        params={"questions": str(questions), "corpus": str(corpus), "chunks": len(index)},
        inputs={},
        sources=[str(questions)],
        principal="cli",
        purpose=PURPOSE,
    )
    if as_json:
        print_json(
            {
                "retrieval": retrieval.metrics.to_dicts(),
                "answers": answers.to_dicts(),
                "output_id": output_id,
            }
        )
        return
    print_table(
        f"retrieval: {len(asked)} questions, {len(index)} passages",
        ("mode", "questions", "recall@1", "recall@5", "recall@10", "MRR@10", "nDCG@10"),
        (
            (
                r["mode"],
                r["questions"],
                *(
                    f"{r[c]:.3f}"
                    for c in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
                ),
            )
            for r in retrieval.metrics.iter_rows(named=True)
        ),
    )
    a = answers.row(0, named=True)
    print_table(
        f"answers ({a['method']})",
        ("measure", "value"),
        [
            ("answerable questions answered", f"{100 * a['answered']:.1f} %"),
            ("answers citing an expected passage", f"{100 * a['grounded']:.1f} %"),
            ("unanswerable questions refused", f"{100 * a['refused']:.1f} %"),
            ("sentences supported by their citations", f"{100 * a['faithful_sentences']:.1f} %"),
        ],
    )
    console.print(f"[dim]drivetrain explain {output_id}[/]")


_TABLES = (".csv", ".parquet")


@docs_app.command("compare")
@handle_errors
def compare(
    ctx: typer.Context,
    old: Annotated[Path, typer.Argument(help="The earlier test result or document version.")],
    new: Annotated[Path, typer.Argument(help="The later one.")],
    keys: Annotated[
        list[str] | None,
        typer.Option("--key", help="Column(s) identifying a row (tables; default: detected)."),
    ] = None,
    limits: Annotated[
        Path | None,
        typer.Option(help="Limits table (measurement, low, high[, key columns]) for tables."),
    ] = None,
    top: Annotated[int, typer.Option(help="Changes to show.", min=1)] = 10,
    as_json: AsJson = False,
) -> None:
    """What changed between two test-result tables, or two versions of a document.

    Tables (CSV, Parquet): per row and measurement the change, and which limits are
    now violated, fixed or still failing. Documents (any indexed format): sections
    added, removed, renamed, moved or modified, with the changed sentences cited in
    both versions.
    Example: drivetrain docs compare brake-2026-10.csv brake-2026-11.csv --key speed_kmh
    """
    from drivetrain.copilot.compare import compare_results
    from drivetrain.copilot.diff import diff_documents

    settings_of(ctx)
    if old.suffix.lower() in _TABLES and new.suffix.lower() in _TABLES:
        result = compare_results(old, new, keys=keys or None, limits=limits)
        if as_json:
            print_json(
                {"summary": result.summary.sentences, "counts": result.summary.counts,
                 "changes": result.changes.to_dicts()}
            )  # fmt: skip
            return
        for sentence in result.summary.sentences[: top + 1]:
            console.print(sentence, highlight=False)
        return
    diff = diff_documents(old, new)
    if as_json:
        print_json({"summary": diff.summary, "changes": diff.to_table().to_pylist()})
        return
    console.print(diff.summary, highlight=False)  # counts, then the largest changes, cited

"""Field support: similar past claims, the repairs that fixed them, and failure themes.

A technician with a vehicle in the bay has the symptoms, the stored DTCs and the model;
the ``warranty_claims`` table holds what other technicians found on such cases and what
they replaced. This module makes that searchable, fleet-wide, in polars and scikit-learn.

* :func:`similar_claims` ranks past claims by
  ``score = 1.0 * text_similarity + 0.5 * dtc_match + 0.1 * same_model``.
  ``text_similarity`` is the cosine of the symptoms and each comment in a TF-IDF space
  fitted on the comments: word uni+bigrams ("stuck open") joined with character 3-5-grams
  within words (robust to workshop spelling: "termostat" still finds "thermostat"), each
  block L2-normalised, so the similarity is the mean of the two cosines, in [0, 1].
  ``dtc_match`` is the share of the case's DTCs the claim carries as its failure code or in
  its comment (SAE J2012 ``[PCBU][0-3][0-9A-F]{3}``). A DTC is the ECU's own diagnosis but
  has several root causes (P0128: thermostat, coolant sensor, wiring), so it weighs half the
  text: it reorders similar claims without overriding what technicians wrote.
  ``same_model`` (from an optional ``vehicle_id, model_id`` table) breaks near-ties. Nothing
  is excluded; the case's own vehicle's claims are flagged ``same_vehicle``.
* :func:`repair_outcomes`: a repeat repair means the first did not fix it. ``fixed`` is
  False when the vehicle came back with the same causal part within 90 days, True when it
  did not and that window has closed by ``as_of`` (default: the last repair in the table),
  and null while it is still open — counting last week's repairs as fixed would flatter them.
* :func:`suggest_repairs` groups the most similar claims by repair (causal part, labour
  code, part number): how often it was done, the share that held among known outcomes, the
  similarity behind it and its median cost, sorted by ``fixed_score`` (the similarity-
  weighted count of repairs that held): "for cases like yours, X fixed it 9 of 10 times".
* :func:`failure_themes`: TF-IDF (English stop words plus workshop filler, "cust states
  ... replaced ... verified") factorised by NMF, whose non-negative factors read as weighted
  bags of terms (unlike LSA's signed ones) and which suits short texts at least as well as
  LDA; each comment joins its dominant theme. By default there are as many themes as
  distinct causal parts among the commented claims, clipped to 2..12: the claim coding is the
  best prior on how many failure stories there are, and where the themes disagree with it
  (one theme across two parts, a part split in two) that is the finding — miscoded claims or
  two failure modes. Claims without a comment are not dropped: they form a ``"(no comment)"``
  theme, and comments of stop words only an ``"(unthemed)"`` one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

from drivetrain.errors import InputError
from drivetrain.warranty.claims_table import require_columns

TEXT_WEIGHT = 1.0
DTC_WEIGHT = 0.5
MODEL_WEIGHT = 0.1
REPEAT_WINDOW_DAYS = 90
DTC_PATTERN = r"\b[PCBU][0-3][0-9A-F]{3}\b"  # SAE J2012 / ISO 15031-6 diagnostic trouble code
NO_COMMENT = "(no comment)"
UNTHEMED = "(unthemed)"
WORKSHOP_FILLER = frozenset(
    {
        "advised", "car", "check", "checked", "complaint", "concern", "cust", "customer",
        "found", "inspected", "ok", "performed", "repair", "repaired", "replace", "replaced",
        "says", "stated", "states", "verified", "verify", "vehicle",
    }
)  # fmt: skip
_TOKEN = r"(?u)\b(?=\w*[^\W\d_])\w\w+\b"  # 2+ characters, one a letter: "12v", "p0128", not "11"
_STOP_WORDS = sorted(ENGLISH_STOP_WORDS | WORKSHOP_FILLER)
_MAX_THEMES = 12
_TOP_COMPONENTS = 3
_KEYS = ("vehicle_id", "causal_part")
_SIMILAR_COLUMNS = (
    "claim_id", "vehicle_id", "repair_date", "causal_part", "labour_code", "part_number",
    "failure_code", "comment",
)  # fmt: skip
_REPAIR_COLUMNS = (
    "causal_part", "labour_code", "part_number", "claims", "fixed", "outcome_known",
    "fixed_share", "score", "fixed_score", "median_cost",
)  # fmt: skip
SIMILAR_SCHEMA: dict[str, type[pl.DataType]] = {
    "claim_id": pl.String, "vehicle_id": pl.String, "repair_date": pl.Date,
    "causal_part": pl.String, "labour_code": pl.String, "part_number": pl.String,
    "failure_code": pl.String, "comment": pl.String, "score": pl.Float64,
    "text_similarity": pl.Float64, "dtc_match": pl.Float64, "same_model": pl.Boolean,
    "same_vehicle": pl.Boolean, "fixed": pl.Boolean,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ServiceCase:
    """A vehicle in the workshop: what the customer and the vehicle say."""

    symptoms: str
    dtcs: tuple[str, ...] = ()
    model_id: str | None = None
    vehicle_id: str | None = None


@dataclass(frozen=True, slots=True)
class FailureTheme:
    """One theme of technician comments and the claims whose comments it dominates."""

    label: str  # the top three terms
    terms: tuple[str, ...]
    claims: int
    share: float  # of all claims, those without a comment included
    components: tuple[tuple[str, int], ...]  # most common causal parts, with claim counts
    examples: tuple[str, ...]  # the most representative comments (highest theme weight)
    claim_ids: tuple[str, ...]  # most representative first


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise InputError(f"{name} must be at least 1, not {value}", hint=f"pass {name}=1 or more")


def _words() -> Any:
    """TF-IDF over word uni- and bigrams, without stop words and workshop filler."""
    return TfidfVectorizer(ngram_range=(1, 2), stop_words=_STOP_WORDS, token_pattern=_TOKEN)


def _case_dtcs(case: ServiceCase) -> tuple[str, ...]:
    codes = tuple(dict.fromkeys(code.strip().upper() for code in case.dtcs))
    bad = [code for code in codes if not re.fullmatch(DTC_PATTERN, code)]
    if bad:
        raise InputError(
            f"the service case's DTC(s) {', '.join(map(repr, bad))} are not diagnostic codes",
            hint="give SAE J2012 codes such as P0128 or C0035 (a letter P/C/B/U, then 4 hex)",
        )
    return codes


def _case_model(case: ServiceCase, models: pl.DataFrame | None) -> str | None:
    if models is None:
        if case.model_id is not None:
            raise InputError(
                f"the service case names model {case.model_id!r} but no models table was given",
                hint="pass models= a table of vehicle_id, model_id, or leave model_id unset",
            )
        return None
    require_columns(models, ("vehicle_id", "model_id"), "models")
    twice = models.filter(pl.col("vehicle_id").is_duplicated())["vehicle_id"].unique().sort()
    if len(twice):
        raise InputError(
            f"the models table has more than one row for vehicle(s) "
            f"{', '.join(twice.head(5).to_list())}",
            hint="pass one row per vehicle_id",
        )
    if case.model_id is not None or case.vehicle_id is None:
        return case.model_id
    found = models.filter(pl.col("vehicle_id") == case.vehicle_id)["model_id"]
    return str(found[0]) if len(found) else None


def _text_similarity(comments: pl.Series, symptoms: str) -> npt.NDArray[np.float64]:
    texts = comments.fill_null("").to_list()
    fitted = [text for text in texts if text.strip()]
    if not symptoms.strip() or not fitted:
        return np.zeros(len(texts))
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5))
    space = FeatureUnion([("words", _words()), ("chars", chars)])
    try:
        space.fit(fitted)
    except ValueError:  # every comment is stop words: there is no vocabulary to compare in
        return np.zeros(len(texts))
    matrix = normalize(space.transform(texts))
    query = normalize(space.transform([symptoms]))
    return np.asarray((matrix @ query.T).toarray(), dtype=np.float64).ravel()


def _with_outcomes(claims: pl.DataFrame, window_days: int, as_of: date | None) -> pl.DataFrame:
    """``claims`` with ``fixed`` and ``days_to_repeat`` (see :func:`repair_outcomes`)."""
    visits = (
        claims.select(*_KEYS, "repair_date")
        .unique()
        .sort(*_KEYS, "repair_date")
        .with_columns(pl.col("repair_date").shift(-1).over(_KEYS).alias("_next"))
    )
    horizon = pl.lit(as_of, dtype=pl.Date) if as_of is not None else pl.col("repair_date").max()
    gap = (pl.col("_next") - pl.col("repair_date")).dt.total_days()
    repeated = gap <= window_days
    closed = (pl.col("_horizon") - pl.col("repair_date")).dt.total_days() >= window_days
    return (
        claims.with_columns(horizon.alias("_horizon"))
        .join(visits, on=[*_KEYS, "repair_date"], how="left")
        .with_columns(
            pl.when(repeated).then(False).when(closed).then(True).alias("fixed"),
            pl.when(repeated).then(gap).alias("days_to_repeat"),
        )
        .drop("_next", "_horizon")
    )


def repair_outcomes(
    claims: pl.DataFrame, *, window_days: int = REPEAT_WINDOW_DAYS, as_of: date | None = None
) -> pl.DataFrame:
    """Whether each repair held: ``claim_id, fixed, days_to_repeat``.

    ``fixed`` is False when the same vehicle had a later repair (a later day) on the same
    causal part within ``window_days`` days, True when it had none and ``as_of`` (default:
    the last repair date in ``claims``) is at least ``window_days`` after the repair, null
    while the window is still open. ``days_to_repeat`` is the gap to the repeat, if any.
    """
    require_columns(claims, ("claim_id", *_KEYS, "repair_date"), "claims")
    _positive("window_days", window_days)
    return _with_outcomes(claims, window_days, as_of).select("claim_id", "fixed", "days_to_repeat")


def _rank(
    claims: pl.DataFrame,
    case: ServiceCase,
    models: pl.DataFrame | None,
    k: int,
    window_days: int,
    extra: tuple[str, ...] = (),
) -> pl.DataFrame:
    _positive("k", k)
    _positive("window_days", window_days)
    require_columns(claims, _SIMILAR_COLUMNS + extra, "claims")
    dtcs = _case_dtcs(case)
    if not case.symptoms.strip() and not dtcs:
        raise InputError(
            "the service case has neither symptoms nor DTCs",
            hint="describe the symptoms (e.g. 'heater blows cold') or give the stored DTCs",
        )
    model = _case_model(case, models)
    frame = claims.select(*_SIMILAR_COLUMNS, *extra).with_columns(
        pl.Series("text_similarity", _text_similarity(claims["comment"], case.symptoms))
    )
    carried = pl.concat_list(
        pl.col(column).fill_null("").str.to_uppercase().str.extract_all(DTC_PATTERN)
        for column in ("failure_code", "comment")
    )
    dtc_match = (
        pl.sum_horizontal(carried.list.contains(code).cast(pl.Float64) for code in dtcs) / len(dtcs)
        if dtcs
        else pl.lit(0.0)
    )
    if model is not None and models is not None:
        frame = frame.join(
            models.select("vehicle_id", pl.col("model_id").alias("_model")),
            on="vehicle_id",
            how="left",
        )
        same_model = (pl.col("_model") == model).fill_null(False)
    else:
        same_model = pl.lit(False)
    same_vehicle = (
        pl.col("vehicle_id") == case.vehicle_id if case.vehicle_id is not None else pl.lit(False)
    )
    frame = frame.with_columns(dtc_match.alias("dtc_match"), same_model.alias("same_model"))
    return (
        _with_outcomes(frame, window_days, None)
        .with_columns(
            (
                TEXT_WEIGHT * pl.col("text_similarity")
                + DTC_WEIGHT * pl.col("dtc_match")
                + MODEL_WEIGHT * pl.col("same_model").cast(pl.Float64)
            ).alias("score"),
            same_vehicle.fill_null(False).alias("same_vehicle"),
        )
        .filter(pl.col("score") > 0)  # nothing in common with the case: not similar at all
        .sort(["score", "repair_date", "claim_id"], descending=[True, True, False])
        .head(k)
        .select(*(pl.col(name).cast(dtype) for name, dtype in SIMILAR_SCHEMA.items()), *extra)
    )


def similar_claims(
    claims: pl.DataFrame,
    case: ServiceCase,
    *,
    models: pl.DataFrame | None = None,
    k: int = 10,
    window_days: int = REPEAT_WINDOW_DAYS,
) -> pl.DataFrame:
    """The ``k`` past claims most like ``case``, best first (columns: :data:`SIMILAR_SCHEMA`).

    ``models``: ``vehicle_id, model_id``, needed for the same-model bonus. ``fixed`` is
    :func:`repair_outcomes` over the whole of ``claims``. Claims with nothing in common with
    the case (score 0) are left out, so fewer than ``k`` rows may come back.
    """
    return _rank(claims, case, models, k, window_days)


def suggest_repairs(
    claims: pl.DataFrame,
    case: ServiceCase,
    *,
    models: pl.DataFrame | None = None,
    k: int = 50,
    window_days: int = REPEAT_WINDOW_DAYS,
) -> pl.DataFrame:
    """The repairs done on the ``k`` claims most like ``case``, the likeliest fix first.

    One row per ``causal_part, labour_code, part_number``: ``claims``, ``fixed`` (repairs
    that held), ``outcome_known`` (claims whose repeat window has closed or that were
    repeated), ``fixed_share`` = fixed / outcome_known (null when none is known), ``score``
    (sum of the claims' similarity scores), ``fixed_score`` (the same over repairs that held;
    the sort key) and ``median_cost`` (in the claims' currency). Needs a ``cost`` column.
    """
    top = _rank(claims, case, models, k, window_days, extra=("cost",))
    return (
        top.group_by("causal_part", "labour_code", "part_number")
        .agg(
            pl.len().cast(pl.Int64).alias("claims"),
            pl.col("fixed").sum().cast(pl.Int64).alias("fixed"),
            pl.col("fixed").count().cast(pl.Int64).alias("outcome_known"),
            pl.col("score").sum().alias("score"),
            pl.col("score").filter(pl.col("fixed")).sum().alias("fixed_score"),
            pl.col("cost").median().alias("median_cost"),
        )
        .with_columns(
            pl.when(pl.col("outcome_known") > 0)
            .then(pl.col("fixed") / pl.col("outcome_known"))
            .alias("fixed_share")
        )
        .sort(
            ["fixed_score", "score", "causal_part", "labour_code", "part_number"],
            descending=[True, True, False, False, False],
        )
        .select(*_REPAIR_COLUMNS)
    )


def _theme(
    members: pl.DataFrame, label: str, terms: tuple[str, ...], total: int, examples: int
) -> FailureTheme:
    parts = (
        members.group_by("causal_part")
        .len()
        .sort(["len", "causal_part"], descending=[True, False])
        .head(_TOP_COMPONENTS)
    )
    return FailureTheme(
        label=label,
        terms=terms,
        claims=members.height,
        share=members.height / total,
        components=tuple((str(part), int(n)) for part, n in parts.iter_rows()),
        examples=tuple(members["comment"].head(examples).to_list()),
        claim_ids=tuple(members["claim_id"].to_list()),
    )


def failure_themes(
    claims: pl.DataFrame,
    *,
    n_themes: int | None = None,
    top_terms: int = 6,
    examples: int = 3,
    random_state: int = 0,
) -> list[FailureTheme]:
    """Technician comments summarised into failure themes, the largest first.

    ``n_themes`` defaults to the number of distinct causal parts among the commented claims,
    clipped to 2..12. Claims without a comment come last as a ``"(no comment)"`` theme, and
    comments with no word beyond stop words as ``"(unthemed)"``, each only when there are any.
    """
    require_columns(claims, ("claim_id", "causal_part", "comment"), "claims")
    _positive("top_terms", top_terms)
    if examples < 0:
        raise InputError(f"examples must be 0 or more, not {examples}", hint="pass examples=0")
    frame = claims.select(
        "claim_id", "causal_part", pl.col("comment").fill_null("").str.strip_chars()
    )
    commented = frame.filter(pl.col("comment") != "")
    if commented.height < 2:
        raise InputError(
            f"failure themes need at least 2 non-empty comments; the claims have "
            f"{commented.height}",
            hint="pass claims whose comment column holds the technicians' text",
        )
    vectorizer = _words()
    try:
        tfidf = vectorizer.fit_transform(commented["comment"].to_list())
    except ValueError as error:  # sklearn: "empty vocabulary"
        raise InputError(
            "the comments hold no words beyond stop words and workshop filler",
            hint="failure themes need free-text technician comments",
        ) from error
    most = min(commented.height, tfidf.shape[1])
    if n_themes is None:
        n_themes = min(max(commented["causal_part"].n_unique(), 2), _MAX_THEMES, most)
    elif not 1 <= n_themes <= most:
        raise InputError(
            f"n_themes must be between 1 and {most} for these comments, not {n_themes}",
            hint="leave n_themes unset to use the number of distinct causal parts",
        )
    nmf = NMF(n_components=n_themes, init="nndsvda", random_state=random_state, max_iter=1000)
    weights = nmf.fit_transform(tfidf)
    vocabulary = vectorizer.get_feature_names_out()
    assigned = commented.with_columns(
        pl.Series("theme", weights.argmax(axis=1), dtype=pl.Int64),
        pl.Series("weight", weights.max(axis=1), dtype=pl.Float64),
    ).sort(["weight", "claim_id"], descending=[True, False])
    themes = []
    for (theme,), members in (
        assigned.filter(pl.col("weight") > 0)
        .partition_by("theme", as_dict=True, maintain_order=True)
        .items()
    ):
        loadings = nmf.components_[int(theme)]
        order = [i for i in np.argsort(-loadings)[:top_terms] if loadings[i] > 0]
        terms = tuple(str(vocabulary[i]) for i in order)
        themes.append(_theme(members, ", ".join(terms[:3]), terms, frame.height, examples))
    themes.sort(key=lambda t: (-t.claims, t.label))
    residues = (
        (UNTHEMED, assigned.filter(pl.col("weight") <= 0)),
        (NO_COMMENT, frame.filter(pl.col("comment") == "")),
    )
    themes += [_theme(m, name, (), frame.height, 0) for name, m in residues if m.height]
    return themes

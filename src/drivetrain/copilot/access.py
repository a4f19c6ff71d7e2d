"""Which documents a principal may read: the access policy's grants on ``documents:<label>``.

A document's access labels (``public``, ``service``, ``engineering``…) are
objects of the same casbin policy that guards the lake
(``src/drivetrain/governance/data/access_policy.csv``), read for the purpose
``engineering_support``. The copilot asks the policy which of the index's labels
the principal is granted, then searches with exactly those: a passage is
returned only if every one of its labels is granted. A principal scoped to some
brands also sees only the documents of those brands and those of no brand
(:func:`reader_filters`).
"""

from __future__ import annotations

from collections.abc import Iterable

from drivetrain.copilot.index import DocumentIndex
from drivetrain.copilot.retrieval import SearchFilters
from drivetrain.governance.access import DOCUMENT_PREFIX, AccessContext, AccessEnforcer
from drivetrain.governance.principals import Principal

PURPOSE = "engineering_support"


def index_labels(index: DocumentIndex) -> set[str]:
    """Every access label some document of ``index`` carries."""
    return set(index.labels())


def readable_labels(
    principal: Principal,
    labels: Iterable[str],
    *,
    enforcer: AccessEnforcer | None = None,
    purpose: str = PURPOSE,
) -> frozenset[str]:
    """The labels of ``labels`` the policy lets ``principal`` read for ``purpose``."""
    enforcer = enforcer or AccessEnforcer()
    context = AccessContext(principal, purpose)
    return frozenset(
        label
        for label in labels
        if enforcer.decide(context, "read", f"{DOCUMENT_PREFIX}{label}", None).allowed
    )


def reader_filters(
    principal: Principal, index: DocumentIndex, *, brand: str | None = None
) -> SearchFilters | None:
    """The search filters of ``principal``'s brand scope (and an optional ``brand``).

    ``None`` when no indexed document is within the scope: there is nothing to
    search. A principal of every brand (``*``) is not narrowed.
    """
    if "*" in principal.attributes.brands:
        return SearchFilters(brand=brand)
    table = index.documents()
    sources = tuple(
        source
        for source, doc_brand in zip(
            table.column("source").to_pylist(), table.column("brand").to_pylist(), strict=True
        )
        if doc_brand is None or principal.attributes.covers_brand(doc_brand)
    )
    return SearchFilters(brand=brand, source=sources) if sources else None

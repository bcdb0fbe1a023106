"""The TF-IDF vectorizer of :func:`impacting.triage.corpus.tfidf_vectorizer`, able to split each
text into terms once for many fits.

Cross-validating the team model fits TF-IDF on every fold (twice: the TF-IDF regression and the
similarity vote), over mostly the same documents; splitting a long design document into words
and word pairs is most of each fit. Within :func:`shared_terms` every such vectorizer remembers
each text's terms, so each document is split once; the matrices are the same as without.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sklearn.feature_extraction.text import TfidfVectorizer

_TERMS: ContextVar[dict[str, list[str]] | None] = ContextVar("impacting_terms", default=None)


@contextmanager
def shared_terms() -> Iterator[None]:
    """Within the block, :class:`Tfidf` vectorizers remember each text's terms."""
    token = _TERMS.set({})
    try:
        yield
    finally:
        _TERMS.reset(token)


class Tfidf(TfidfVectorizer):
    """scikit-learn's TfidfVectorizer, whose analyzer consults :func:`shared_terms` when active."""

    def build_analyzer(self):
        analyze = super().build_analyzer()
        memo = _TERMS.get()
        if memo is None:
            return analyze

        def remembered(text: str) -> list[str]:
            terms = memo.get(text)
            if terms is None:
                terms = memo[text] = analyze(text)
            return terms

        return remembered

"""The TF-IDF vectorizer of :func:`impacting.triage.corpus.tfidf_vectorizer`, able to split each
text into terms once for many fits.

Cross-validating the team model fits TF-IDF on every fold (twice: the TF-IDF regression and the
similarity vote), over mostly the same documents; splitting a long design document into words
and word pairs, and building the vocabulary from them, is most of each fit. Within
:func:`shared_terms` every such vectorizer remembers each text's term counts, so each document
is split once, and fits from the counts (`triage.term_counts`); the matrices and the fitted
vectorizer are the same as without.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer


class _Memo:
    """Each text's terms, and its term counts over one growing list of terms."""

    def __init__(self) -> None:
        self.terms: dict[str, list[str]] = {}
        self.rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.names: list[str] = []
        self.index: dict[str, int] = {}

    def counts(self, texts: list[str], analyze) -> csr_matrix:
        """The texts' term counts (rows) over every term seen so far (columns)."""
        from impacting.triage.term_counts import count_terms

        new = [t for t in dict.fromkeys(texts) if t not in self.rows]
        if new:
            matrix = count_terms(new, self.names, self.index, analyze)
            for i, text in enumerate(new):
                row = slice(matrix.indptr[i], matrix.indptr[i + 1])
                self.rows[text] = (matrix.indices[row], matrix.data[row])
        rows = [self.rows[t] for t in texts]
        return csr_matrix((np.concatenate([v for _, v in rows]) if rows else np.zeros(0, np.float32),
                           np.concatenate([c for c, _ in rows]) if rows else np.zeros(0, np.int32),
                           np.concatenate([[0], np.cumsum([len(c) for c, _ in rows])])),
                          shape=(len(texts), len(self.names)))


_TERMS: ContextVar[_Memo | None] = ContextVar("impacting_terms", default=None)


@contextmanager
def shared_terms() -> Iterator[None]:
    """Within the block, :class:`Tfidf` vectorizers remember each text's terms and counts."""
    token = _TERMS.set(_Memo())
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
            terms = memo.terms.get(text)
            if terms is None:
                terms = memo.terms[text] = analyze(text)
            return terms

        return remembered

    def fit_transform(self, raw_documents, y=None):
        memo = _TERMS.get()
        if memo is None or self.vocabulary is not None or isinstance(raw_documents, str):
            return super().fit_transform(raw_documents, y)
        from impacting.triage.term_counts import fit_counts

        texts = list(raw_documents)
        fitted, matrix = fit_counts(memo.counts(texts, super().build_analyzer()), memo.names,
                                    recipe=self)
        if fitted is None:
            raise ValueError("After pruning, no terms remain: the documents have no words to "
                             "learn from")
        self.__dict__.update(fitted.__dict__)   # fitted exactly as scikit-learn would fit it
        return matrix


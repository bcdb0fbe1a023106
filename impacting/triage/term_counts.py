"""TF-IDF refitted from stored term counts: what the kept similarity index does each night.

Fitting TF-IDF on a history means splitting every past project's words into terms (words and
word pairs), which costs in proportion to the history. The split is the same every night, so
the kept index stores each past project's term counts once (:func:`count_terms`) and refits the
vocabulary, document frequencies and weights from the counts (:func:`fit_counts`): the same
recipe (`triage.corpus.tfidf_vectorizer`: stop words, word pairs, sublinear term frequency, terms
in one document or in over 80% of them dropped, the 100,000 most frequent kept) and the same
matrix scikit-learn's `fit_transform` gives, down to how ties at the 100,000-term cut are broken.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.preprocessing import normalize

from impacting.triage.corpus import tfidf_vectorizer


def count_terms(texts: Sequence[str], terms: list[str], index: dict[str, int],
                analyze: Callable[[str], list[str]] | None = None) -> csr_matrix:
    """Term counts of `texts` (rows) over the term ids of `index`, which grows (with `terms`,
    the ids' terms in order) by the terms seen for the first time."""
    analyze = analyze or tfidf_vectorizer(0).build_analyzer()
    columns, values, lengths = [], [], [0]
    for text in texts:
        seen: dict[int, int] = {}
        for term in analyze(text):
            j = index.get(term)
            if j is None:
                j = index[term] = len(terms)
                terms.append(term)
            seen[j] = seen.get(j, 0) + 1
        order = sorted(seen)
        columns.append(np.asarray(order, dtype=np.int32))
        values.append(np.asarray([seen[j] for j in order], dtype=np.float32))
        lengths.append(len(order))
    return csr_matrix((np.concatenate(values) if values else np.zeros(0, np.float32),
                       np.concatenate(columns) if columns else np.zeros(0, np.int32),
                       np.cumsum(lengths)), shape=(len(texts), len(terms)))


def fit_counts(counts: csr_matrix, terms: Sequence[str], recipe=None):
    """(vectorizer, matrix): a fitted TF-IDF vectorizer of the recipe for new texts, and the rows
    of `counts` as TF-IDF, exactly as the recipe's `fit_transform` on the same documents would
    give them. (None, None) when no term is left (scikit-learn's empty-vocabulary error).
    `recipe`: an unfitted vectorizer whose settings to use (default :func:`tfidf_vectorizer`)."""
    from sklearn.base import clone

    n = counts.shape[0]
    recipe = clone(recipe) if recipe is not None else tfidf_vectorizer(n)
    params = recipe.get_params()
    high = params["max_df"] if isinstance(params["max_df"], Integral) else params["max_df"] * n
    low = params["min_df"] if isinstance(params["min_df"], Integral) else params["min_df"] * n
    counts = counts.tocsr()
    frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    kept = np.flatnonzero((frequency > 0) & (frequency <= high) & (frequency >= low))
    if not len(kept):
        return None, None
    # scikit-learn orders its vocabulary alphabetically before keeping the most frequent terms,
    # so ties at the cut fall the same way.
    kept = kept[np.argsort(np.asarray([terms[j] for j in kept], dtype=object), kind="stable")]
    limit = params["max_features"]
    if limit is not None and len(kept) > limit:
        totals = np.asarray(counts.sum(axis=0)).ravel()
        chosen = np.zeros(len(kept), dtype=bool)
        chosen[(-totals[kept]).argsort()[:limit]] = True
        kept = kept[chosen]
    # The rest as scikit-learn's TfidfTransformer does it, operation for operation (float32).
    matrix = counts[:, kept].astype(np.float32).tocsr()
    df = frequency[kept].astype(np.float32) + 1.0
    idf = np.full_like(df, fill_value=n + 1, dtype=np.float32)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    np.log(matrix.data, matrix.data)
    matrix.data += 1.0          # sublinear term frequency
    matrix.data *= idf[matrix.indices]
    matrix = normalize(matrix, norm="l2", copy=False)
    vectorizer = recipe   # fitted as scikit-learn fits it: a learnt (not a fixed) vocabulary
    vectorizer.vocabulary_ = {terms[j]: i for i, j in enumerate(kept)}
    vectorizer.idf_ = idf
    return vectorizer, matrix

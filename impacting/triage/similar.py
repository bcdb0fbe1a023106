"""Similar past projects: lexical and semantic similarity fused into one score with a cut-off.

- lexical: TF-IDF cosine of the documents' words (shared names such as "CSI" or "kubelet");
- semantic: the best-matching passage pairs. Each sentence (and the title) of one document is
  paired with its closest sentence in the other; the mean of the `PASSAGE_PAIRS` closest pairs,
  taken both ways and averaged, is the score (negative values read as 0). Sentence vectors are
  first centred on the pool's mean sentence vector: every design document shares a "this is a
  design document" direction that says nothing about its topic. Two documents that share a few
  specific ideas score high even when the rest of them differ, which a mean of all sentences
  blurs;
- fused: `lexical_weight * lexical + (1 - lexical_weight) * semantic`, in [0, 1].

Sentences that many past projects share word for word (template text) are left out of both
halves.

Two stages once the history is large: comparing every sentence of a request with every past
sentence costs time in proportion to the history (a 20,000-project history of design documents
holds millions of sentences). With `candidates` = C > 0 and more than C past projects, a cheap
first stage scores every past project by the same fusion with each document's mean (centred)
sentence vector in place of its passages, and only its best C get the exact passage-pair score;
the others keep a semantic half of 0 (never compared), so they rank below on words alone.
`impacting eval` reports how much of the exact search's recall@10 the two stages keep.

The cut-off applies to the fused score, so an unusual request gets few matches or none instead
of ten weak ones. The same index feeds the team model's similarity vote. The pipeline keeps its
passage index between runs and adds each night's new past projects to it (`triage.kept_index`):
building it reads the whole history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from impacting.settings import TriageSettings
from impacting.triage.corpus import Corpus, template_passages, tfidf_vectorizer

HYBRID, LEXICAL, SEMANTIC = "hybrid", "lexical", "semantic"
# The settings' defaults (impacting.settings says how they were chosen).
_SETTINGS = TriageSettings()
DEFAULT_LEXICAL_WEIGHT = _SETTINGS.similar_lexical_weight
DEFAULT_MIN_SCORE = _SETTINGS.similar_min_score
# Passage pairs that make the semantic score: enough that one shared boilerplate-like sentence
# does not decide it, few enough that a ticket's handful of sentences still count fully.
PASSAGE_PAIRS = 20
# Past projects per request that the passage comparison sees (two-stage search); 0: all of them.
DEFAULT_CANDIDATES = _SETTINGS.similar_candidates
# Query sentences compared with the whole pool at once (bounds the memory of a long document).
SENTENCE_BLOCK = 256
MODES = (HYBRID, LEXICAL, SEMANTIC)
# How the semantic half compares two documents: their best-matching passage pairs (the search
# for similar projects), or their centred mean vectors (cheaper; the team model's similarity
# vote, where it did better in cross-validation).
PASSAGES, MEAN = "passages", "mean"


@dataclass(frozen=True)
class SimilarConfig:
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT
    top_k: int = _SETTINGS.similar_top_k
    min_score: float = DEFAULT_MIN_SCORE
    candidates: int = DEFAULT_CANDIDATES

    @classmethod
    def from_settings(cls, settings: TriageSettings) -> SimilarConfig:
        return cls(lexical_weight=settings.similar_lexical_weight, top_k=settings.similar_top_k,
                   min_score=settings.similar_min_score, candidates=settings.similar_candidates)


@dataclass(frozen=True)
class Match:
    key: str
    rank: int           # 1 = most similar
    score: float        # fused, or the one half a single-mode search used
    lexical: float
    semantic: float
    probability: float | None = None   # "likely related", when the learned ranking ordered it


class SimilarityIndex:
    """A pool of past projects that requests can be compared with."""

    def __init__(self, pool: Corpus, lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
                 semantic: str = PASSAGES, template: frozenset[str] | None = None,
                 candidates: int = DEFAULT_CANDIDATES):
        self._configure(lexical_weight, semantic, candidates)
        # Template sentences (shared by many past projects) make every pair look alike; the
        # pipeline's triage corpus knows them already, the evaluation computes them here.
        self.template = template_passages(pool) if template is None else template
        self.keys = pool.keys  # the pool's words and vectors are kept only as the index needs them
        self._columns: np.ndarray | None = None
        self._vectorizer = tfidf_vectorizer(len(pool))
        try:
            self._pool_terms = self._vectorizer.fit_transform(pool.lexical_without(self.template))
        except ValueError:  # no words at all in the pool (empty documents): lexical sees nothing
            self._vectorizer = None
            self._pool_terms = None
        if semantic == MEAN:
            vectors = pool.without(self.template).vectors
            self._center = vectors.mean(axis=0) if len(pool) else None
            self._pool_means = self._centered(vectors)
            return
        self._sentences, self._lengths, self._means, self._center = passage_rows(pool, self.template)
        self._starts = _starts(self._lengths)

    def _configure(self, lexical_weight: float, semantic: str, candidates: int) -> None:
        if not 0.0 <= lexical_weight <= 1.0:
            raise ValueError(f"lexical_weight must be within [0, 1], got {lexical_weight}")
        if semantic not in (PASSAGES, MEAN):
            raise ValueError(f"semantic must be {PASSAGES!r} or {MEAN!r}, got {semantic!r}")
        if candidates < 0:
            raise ValueError(f"candidates must be 0 (compare with every past project) or more, "
                             f"got {candidates}")
        self.semantic = semantic
        self.candidates = candidates
        self.lexical_weight = lexical_weight

    @classmethod
    def assembled(cls, *, keys: list[str], template: frozenset[str], lexical_weight: float,
                  candidates: int, vectorizer, pool_terms, sentences: np.ndarray,
                  lengths: np.ndarray, means: np.ndarray, center: np.ndarray | None,
                  columns: np.ndarray | None = None) -> SimilarityIndex:
        """A passage index from parts kept between runs (`triage.kept_index`): `keys`, `lengths`,
        the lexical rows and `means` in the order the parts were stored; `columns`, when given,
        the stored position of each key the results are reported for (in that order)."""
        index = cls.__new__(cls)
        index._configure(lexical_weight, PASSAGES, candidates)
        index.template = template
        index._vectorizer, index._pool_terms = vectorizer, pool_terms
        index._sentences, index._lengths, index._means, index._center = \
            sentences, lengths, means, center
        index._starts = _starts(lengths)
        index._columns = None if columns is None else np.asarray(columns, dtype=np.int64)
        index.keys = list(keys) if columns is None else [keys[j] for j in index._columns]
        return index

    def _centered(self, vectors: np.ndarray) -> np.ndarray:
        return centre(vectors, self._center)

    def two_stage(self) -> bool:
        """Whether a request's passages meet only its first-stage candidates."""
        return self.semantic == PASSAGES and 0 < self.candidates < int((self._lengths > 0).sum())

    def _semantic(self, queries: Corpus, lexical: np.ndarray) -> np.ndarray:
        """Mean of the `PASSAGE_PAIRS` best passage pairs, both ways, for each query x pool (with
        two stages: for each query's candidates; 0 elsewhere)."""
        if self.semantic == MEAN:
            return self._centered(queries.vectors) @ self._pool_means.T
        out = np.zeros((len(queries), len(self._lengths)), np.float32)
        if not len(self._sentences):
            return out
        has = np.flatnonzero(self._lengths > 0)
        if self._own_pool(queries):
            return self._pool_with_itself(has)
        whole = _Passages(self._sentences, self._lengths[has])
        for i in range(len(queries)):
            query = self._centered(_sentence_vectors(queries, i))
            if not len(query):
                continue  # a request with no words is similar to nothing
            if not self.two_stage():
                out[i, has] = _pair_scores(query, whole)
                continue
            coarse = _unit(query.mean(axis=0, keepdims=True))[0] @ self._means.T
            first = (self.lexical_weight * lexical[i, has]
                     + (1 - self.lexical_weight) * np.clip(coarse, 0, None))
            chosen = np.sort(np.argpartition(-first, self.candidates - 1)[:self.candidates])
            out[i, has[chosen]] = _pair_scores(query, self._gather(has[chosen]))
        return out

    def _own_pool(self, queries: Corpus) -> bool:
        """Whether `queries` are the past projects the index holds, in the order of `keys` (the
        similar ranking's training compares them with each other), for the exact search."""
        return not self.two_stage() and queries.keys == self.keys

    def _pool_with_itself(self, has: np.ndarray) -> np.ndarray:
        """Every past project against every other: the passage-pair score is symmetric (both
        ways, averaged), so each pair is compared once, from its earlier project's side. Rows
        in the order of `keys`, columns in the stored order (as :meth:`_semantic`)."""
        stored = np.zeros((len(self._lengths), len(self._lengths)), np.float32)
        lengths = self._lengths[has]
        for position, i in enumerate(has):
            start = self._starts[i]
            later = _Passages(self._sentences[start:], lengths[position:])
            scores = _pair_scores(np.asarray(self._sentences[start:start + lengths[position]]), later)
            stored[i, has[position:]] = scores
            stored[has[position:], i] = scores
        return stored if self._columns is None else stored[self._columns]

    def _gather(self, documents: np.ndarray) -> _Passages:
        """The stacked sentences of pool `documents` (positions with sentences), in that order."""
        lengths = self._lengths[documents]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        rows = np.arange(int(lengths.sum())) + np.repeat(self._starts[documents] - starts, lengths)
        return _Passages(self._sentences[rows], lengths)

    def halves(self, queries: Corpus) -> tuple[np.ndarray, np.ndarray]:
        """(lexical, semantic) similarity of each query to each pool project, each in [0, 1]."""
        shape = (len(queries), len(self._lengths) if self.semantic == PASSAGES else len(self.keys))
        if not len(queries) or not len(self.keys):
            empty = np.zeros((len(queries), len(self.keys)), np.float32)
            return empty, empty.copy()
        queries = queries.without(self.template)
        if self._vectorizer is None:
            lexical = np.zeros(shape, np.float32)
        else:
            lexical = (self._vectorizer.transform(queries.lexical) @ self._pool_terms.T).toarray()
        semantic = self._semantic(queries, np.clip(lexical, 0, 1))
        if self._columns is not None:   # stored order -> the order of `keys`
            lexical, semantic = lexical[:, self._columns], semantic[:, self._columns]
        return (np.clip(lexical, 0, 1).astype(np.float32),
                np.clip(semantic, 0, 1).astype(np.float32))

    def similarity(self, queries: Corpus, mode: str = HYBRID) -> np.ndarray:
        """One (queries x pool) score matrix: fused, or one half alone."""
        return self._scores(*self.halves(queries), mode)

    def _scores(self, lexical: np.ndarray, semantic: np.ndarray, mode: str) -> np.ndarray:
        if mode not in MODES:
            raise ValueError(f"similarity mode must be one of {MODES}, got {mode!r}")
        if mode == LEXICAL:
            return lexical
        if mode == SEMANTIC:
            return semantic
        return self.lexical_weight * lexical + (1 - self.lexical_weight) * semantic

    def search(self, queries: Corpus, *, top_k: int, min_score: float, mode: str = HYBRID,
               exclude: Iterable[Iterable[str]] | None = None,
               halves: tuple[np.ndarray, np.ndarray] | None = None) -> list[list[Match]]:
        """For each query, up to `top_k` pool projects scoring at least `min_score`, best first.

        A query never matches itself (same key); `exclude` names more keys to skip per query.
        `halves`: this index's :meth:`halves` of `queries`, when already computed (several
        searches of the same queries then compare passages once).
        """
        lexical, semantic = halves if halves is not None else self.halves(queries)
        scores = self._scores(lexical, semantic, mode)
        excluded = list(exclude) if exclude is not None else [()] * len(queries)
        pool_keys = self.keys
        out: list[list[Match]] = []
        for i, request in enumerate(queries.requests):
            skip = {request.key, *excluded[i]}
            row = scores[i]
            matches: list[Match] = []
            for j in np.argsort(-row, kind="stable"):
                if len(matches) >= top_k or row[j] < min_score:
                    break
                if pool_keys[j] in skip:
                    continue
                matches.append(Match(pool_keys[j], len(matches) + 1, float(row[j]),
                                     float(lexical[i, j]), float(semantic[i, j])))
            out.append(matches)
        return out


@dataclass(frozen=True)
class _Passages:
    """Stacked sentence vectors of some documents (each with at least one), in document order."""

    sentences: np.ndarray     # (sentences, dim)
    lengths: np.ndarray       # (documents,) sentences of each

    @property
    def starts(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)


def passage_rows(pool: Corpus, template: frozenset[str], center: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(sentences, lengths, means, center) of the pool's passages: every past sentence (titles
    first, template sentences left out) in one array, centred on `center` (default: their own
    mean) and unit length; each document's sentence count; and each document with sentences its
    mean centred sentence, unit length (the first stage's view of it). Built without a second
    copy of the pool's vectors: a long history's sentences are the index's one large array."""
    pieces = [_sentence_vectors(pool, i, template) for i in range(len(pool))]
    lengths = np.array([len(v) for v in pieces], dtype=np.int64)
    dim = pool.vectors.shape[1] if pool.vectors.ndim == 2 else 0
    stacked = (np.concatenate([v for v in pieces if len(v)]).astype(np.float32, copy=False)
               if lengths.any() else np.zeros((0, dim), np.float32))
    del pieces
    if center is None:
        center = stacked.mean(axis=0) if len(stacked) else None
    sentences = centre_in_place(stacked, center)
    means = _unit(_document_sums(sentences, lengths[lengths > 0]))
    return sentences, lengths, means, center


def _starts(lengths: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)


def _pair_scores(query: np.ndarray, documents: _Passages) -> np.ndarray:
    """The passage-pair score of one query (its centred sentence vectors) against each document:
    the mean of its `PASSAGE_PAIRS` best pairs, taken both ways and averaged."""
    starts = documents.starts
    # forward: each query sentence's best sentence in every document;
    # backward: each document sentence's best sentence in the query.
    forward = np.empty((len(query), len(documents.lengths)), np.float32)
    backward = np.full(len(documents.sentences), -1.0, np.float32)
    for start in range(0, len(query), SENTENCE_BLOCK):
        block = query[start:start + SENTENCE_BLOCK] @ documents.sentences.T
        forward[start:start + len(block)] = np.maximum.reduceat(block, starts, axis=1)
        np.maximum(backward, block.max(axis=0), out=backward)
    k = min(PASSAGE_PAIRS, len(query))
    top = forward if len(query) <= k else -np.partition(-forward, k - 1, axis=0)[:k]
    return (top.mean(axis=0) + _top_mean(backward, documents.lengths, starts)) / 2


def _top_mean(values: np.ndarray, lengths: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per document, the mean of its `PASSAGE_PAIRS` highest sentence `values`."""
    owner = np.repeat(np.arange(len(lengths)), lengths)
    order = np.lexsort((-values, owner))           # by document, best first
    place = np.arange(len(order)) - starts[owner]  # owner is sorted: order keeps it
    kept = place < PASSAGE_PAIRS
    sums = np.bincount(owner[kept], weights=values[order][kept], minlength=len(lengths))
    return sums / np.maximum(np.minimum(lengths, PASSAGE_PAIRS), 1)


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def centre(vectors: np.ndarray, center: np.ndarray | None) -> np.ndarray:
    """`vectors` minus `center` (the pool's mean: the direction every design document shares),
    scaled back to unit length. A zero vector (a request with no words) stays zero: similar to
    nothing. Portfolio themes cluster documents in this same space."""
    if center is None or not len(vectors):
        return vectors.astype(np.float32)
    centered = vectors - center
    norms = np.linalg.norm(centered, axis=1, keepdims=True)
    empty = np.linalg.norm(vectors, axis=1, keepdims=True) == 0
    return np.where(empty | (norms == 0), 0.0, centered / np.maximum(norms, 1e-12)).astype(np.float32)


def centre_in_place(vectors: np.ndarray, center: np.ndarray | None) -> np.ndarray:
    """:func:`centre` without the copies (`vectors`, float32, is overwritten and returned)."""
    if center is None or not len(vectors):
        return vectors
    empty = ~vectors.any(axis=1)
    vectors -= center.astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors /= np.maximum(norms, 1e-12)
    vectors[empty | (norms[:, 0] == 0)] = 0.0
    return vectors


def _document_sums(sentences: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per document (consecutive runs of `lengths` rows, each at least one), the sum of its rows."""
    from scipy.sparse import csr_matrix

    owner = np.repeat(np.arange(len(lengths)), lengths)
    members = csr_matrix((np.ones(len(owner), np.float32), (owner, np.arange(len(owner)))),
                         shape=(len(lengths), len(sentences)))
    return np.asarray(members @ sentences, dtype=np.float32)


def _sentence_vectors(corpus: Corpus, i: int, template: frozenset[str] = frozenset()) -> np.ndarray:
    """The title's vector (when there is one) and the prose passages' vectors of request `i`
    (template sentences left out)."""
    passages = corpus.kept_passage_vectors(i, template)
    title = None if corpus.title_vectors is None else corpus.title_vectors[i]
    if title is None or not title.any():
        return passages
    return np.vstack([title[None, :], passages])


def link_metrics(relevant: Sequence[set[str]],
                 results: Sequence[Sequence[Match]]) -> dict:
    """recall@5, recall@10 and MRR of searches against known links, averaged over the queries
    that have links (each query counts once, however many links it has)."""
    rows = [(rel, res) for rel, res in zip(relevant, results, strict=True) if rel]
    if not rows:
        return {"recall_at_5": 0.0, "recall_at_10": 0.0, "mrr": 0.0, "n_queries": 0}

    def recall(k: int) -> float:
        return float(np.mean([len(rel & {m.key for m in res[:k]}) / len(rel) for rel, res in rows]))

    reciprocal = [next((1 / m.rank for m in res if m.key in rel), 0.0) for rel, res in rows]
    return {"recall_at_5": recall(5), "recall_at_10": recall(10),
            "mrr": float(np.mean(reciprocal)), "n_queries": len(rows)}


def closest_passages(query_passages, query_vectors: np.ndarray, match_passages,
                     match_vectors: np.ndarray, skip: frozenset[str] = frozenset(),
                     chars: int = 120) -> str | None:
    """The pair of sentences, one from each document, closest in meaning: shows a reader at
    a glance why two requests are alike. Template sentences (`skip`, by SHA-256) and sentences
    found word for word in both are left out: they say nothing about this pair. None when no
    pair is left."""
    if not len(query_vectors) or not len(match_vectors):
        return None
    keep_q = [i for i, c in enumerate(query_passages) if c.sha256 not in skip]
    shared = {c.sha256 for c in query_passages} & {c.sha256 for c in match_passages}
    keep_m = [j for j, c in enumerate(match_passages) if c.sha256 not in skip | shared]
    keep_q = [i for i in keep_q if query_passages[i].sha256 not in shared]
    if not keep_q or not keep_m:
        return None
    query_passages = [query_passages[i] for i in keep_q]
    match_passages = [match_passages[j] for j in keep_m]
    similarity = query_vectors[keep_q] @ match_vectors[keep_m].T
    i, j = np.unravel_index(int(np.argmax(similarity)), similarity.shape)

    def quote(text: str) -> str:
        text = text if len(text) <= chars else text[:chars - 1].rstrip() + "…"
        return "'" + text.replace("'", "’") + "'"

    return (f"{quote(query_passages[i].text)} ~ {quote(match_passages[j].text)} "
            f"({float(similarity[i, j]):.2f})")

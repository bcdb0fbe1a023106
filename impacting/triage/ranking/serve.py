"""Similar past projects as users get them: the fixed fusion's search, reordered by the learned
ranking when one serves; and the ranking's training from the history's links."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from impacting.triage.corpus import Corpus
from impacting.triage.ranking.features import link_graph, pair_features
from impacting.triage.ranking.model import (
    DEFAULT_RANKER,
    MIN_LINKED_QUERIES,
    RankerConfig,
    SimilarRanker,
    fit_similar_ranker,
)
from impacting.triage.similar import Match, SimilarityIndex


def train_ranker(pool: Corpus, index: SimilarityIndex, config: RankerConfig = DEFAULT_RANKER,
                 people: Mapping[str, frozenset[str]] | None = None,
                 progress: Callable[[str], None] | None = None) -> SimilarRanker:
    """The ranking learned from the links among the past projects `index` was built on (`pool`):
    each is compared with all the others once (the passage comparison dominates the cost)."""
    graph = link_graph(pool)
    if len(graph) < MIN_LINKED_QUERIES:   # too few links to learn from: skip the comparison
        empty = np.zeros((len(pool), len(pool)), np.float32)
        return fit_similar_ranker(pool, empty, empty, index.lexical_weight, graph, config,
                                  people=people, progress=progress)
    lexical, semantic = index.halves(pool)
    return fit_similar_ranker(pool, lexical, semantic, index.lexical_weight, graph,
                              config, people=people, progress=progress)


def find_similar(index: SimilarityIndex, queries: Corpus, pool: Corpus, *, top_k: int, min_score: float,
                 ranker: SimilarRanker | None = None,
                 history_links: Mapping[str, Mapping[str, str]] | None = None,
                 people: Mapping[str, frozenset[str]] | None = None,
                 exclude: Iterable[Iterable[str]] | None = None,
                 halves=None, min_probability: float | None = None) -> list[list[Match]]:
    """Each query's similar past projects, best first.

    Without a learned ranking (`ranker` None, or one that kept the fixed fusion), the fixed
    fusion with its score cut-off (`min_score`). With one, the fusion's best candidates are
    reordered by the calibrated probability of being related, and those below the ranking's
    cut-off (or `min_probability`) are left out. `pool` is the corpus `index` was built on;
    `history_links` the known links among it (default: its requests' links)."""
    if ranker is None or not ranker.learned:
        return index.search(queries, top_k=top_k, min_score=min_score, exclude=exclude, halves=halves)
    lexical, semantic = halves if halves is not None else index.halves(queries)
    excluded: Sequence[Iterable[str]] | None = list(exclude) if exclude is not None else None
    frame = pair_features(queries, pool, lexical, semantic, ranker.lexical_weight,
                          link_graph(pool) if history_links is None else history_links,
                          people=people, exclude=excluded)
    return ranker.rank(frame, len(queries), pool.keys, lexical, semantic, top_k, min_probability)

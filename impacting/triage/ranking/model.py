"""The learned ranking of similar projects: a pointwise scikit-learn model over pair features,
chosen by time-ordered cross-validation against the fixed fusion, with a calibrated "likely
related" probability as its cut-off.

:func:`fit_similar_ranker` learns from the history's links: each past project with links to
other past projects is a query, its linked projects the positives among its candidates
(`features`). Folds are consecutive blocks of queries by creation date, each held out once.
The fixed fusion is a candidate too: when no learned model beats it on the held-out queries
(or the history has too few links to tell), the fixed fusion keeps serving.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from impacting.triage.corpus import Corpus
from impacting.triage.ranking.features import PairFrame, pair_features
from impacting.triage.similar import Match, link_metrics

FIXED, LOGISTIC, BOOSTING = "fixed_fusion", "logistic", "boosting"
# Fewer linked past projects than this and cross-validation cannot tell models apart.
MIN_LINKED_QUERIES = 30
# Probability cut-offs tried (the highest costing under one point of recall@10 is kept).
CUTOFF_GRID = tuple(np.round(np.arange(0.0, 0.51, 0.01), 2))


@dataclass(frozen=True)
class RankerConfig:
    folds: int = 5
    logistic_c: tuple[float, ...] = (0.1, 1.0, 10.0)
    boosting: bool = True
    top_k: int = 10
    seed: int = 0


DEFAULT_RANKER = RankerConfig()


def _make(name: str, c: float, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == LOGISTIC:
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    return HistGradientBoostingClassifier(max_depth=3, learning_rate=0.05, max_iter=200,
                                          l2_regularization=1.0, min_samples_leaf=40,
                                          random_state=seed)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass
class SimilarRanker:
    """A fitted ranking: the model, its calibration, its cut-off and what CV saw."""

    chosen: str
    model: object | None               # None for the fixed fusion
    calibration: tuple[float, float]   # Platt: p = sigmoid(a * logit(raw) + b)
    min_probability: float
    lexical_weight: float
    cv: dict = field(default_factory=dict)

    @property
    def learned(self) -> bool:
        return self.model is not None

    def probabilities(self, frame: PairFrame) -> np.ndarray:
        """Calibrated probability that each row's candidate is related to its query."""
        if not len(frame.query):
            return np.zeros(0)
        raw = frame.fused if self.model is None else self.model.predict_proba(frame.features)[:, 1]
        a, b = self.calibration
        return 1 / (1 + np.exp(-(a * _logit(raw) + b)))

    def rank(self, frame: PairFrame, n_queries: int, pool_keys: Sequence[str], lexical: np.ndarray,
             semantic: np.ndarray, top_k: int, min_probability: float | None = None) -> list[list[Match]]:
        """Each query's best `top_k` candidates by probability, those at least the cut-off."""
        cut = self.min_probability if min_probability is None else min_probability
        return rank_rows(frame, self.probabilities(frame), n_queries, pool_keys, lexical, semantic,
                         top_k, cut)


def rank_rows(frame: PairFrame, probabilities: np.ndarray, n_queries: int, pool_keys: Sequence[str],
              lexical: np.ndarray, semantic: np.ndarray, top_k: int, cut: float) -> list[list[Match]]:
    out: list[list[Match]] = [[] for _ in range(n_queries)]
    order = np.lexsort((-frame.fused, -probabilities, frame.query))
    for row in order:
        i, c, p = int(frame.query[row]), int(frame.candidate[row]), float(probabilities[row])
        if len(out[i]) >= top_k or p < cut:
            continue
        out[i].append(Match(pool_keys[c], len(out[i]) + 1, float(frame.fused[row]),
                            float(lexical[i, c]), float(semantic[i, c]), p))
    return out


def _labels(frame: PairFrame, queries: Corpus, pool: Corpus, positives: Sequence[set[str]]) -> np.ndarray:
    keys = pool.keys
    return np.array([keys[c] in positives[q] for q, c in zip(frame.query, frame.candidate, strict=True)],
                    dtype=np.int8)


def _blocks(queries: Corpus, folds: int) -> list[np.ndarray]:
    order = sorted(range(len(queries)), key=lambda i: (queries.requests[i].created is None,
                                                       queries.requests[i].created or "", i))
    return [b for b in np.array_split(np.array(order, dtype=int), min(folds, len(order))) if len(b)]


def _score(metrics: dict) -> float:
    return (metrics["recall_at_10"] + metrics["mrr"]) / 2


def fit_similar_ranker(pool: Corpus, lexical: np.ndarray, semantic: np.ndarray, lexical_weight: float,
                       history_links: Mapping[str, Mapping[str, str]],
                       config: RankerConfig = DEFAULT_RANKER,
                       texts: Sequence[str] | None = None,
                       people: Mapping[str, frozenset[str]] | None = None,
                       progress: Callable[[str], None] | None = None) -> SimilarRanker:
    """Learn the ranking from the links among `pool`'s projects (see the module docstring).

    `lexical`/`semantic`: the index's halves of `pool` against itself; `history_links`: the
    known links (undirected) among the pool's projects."""
    log = progress or (lambda message: None)
    positives_all = [set(history_links.get(key, {})) for key in pool.keys]
    linked = [i for i, p in enumerate(positives_all) if p]
    fixed = SimilarRanker(FIXED, None, (1.0, 0.0), 0.0, lexical_weight)
    if len(linked) < MIN_LINKED_QUERIES:
        fixed.cv = {"chosen": FIXED, "linked_queries": len(linked),
                    "reason": f"fewer than {MIN_LINKED_QUERIES} past projects with links: the "
                              "fixed fusion serves"}
        return fixed
    queries = pool.subset(linked)
    positives = [positives_all[i] for i in linked]
    frame = pair_features(queries, pool, lexical[linked], semantic[linked], lexical_weight,
                          history_links, texts=None if texts is None else [texts[i] for i in linked],
                          pool_texts=texts, people=people)
    labels = _labels(frame, queries, pool, positives)
    blocks = _blocks(queries, config.folds)
    options = [(LOGISTIC, c) for c in config.logistic_c] + ([(BOOSTING, 0.0)] if config.boosting else [])
    oof = {option: np.zeros(len(labels)) for option in options}
    fold_of_row = np.full(len(labels), -1)
    for number, held in enumerate(blocks):
        held_rows = np.isin(frame.query, held)
        fold_of_row[held_rows] = number
        train_rows = ~held_rows
        if labels[train_rows].min() == labels[train_rows].max():
            continue
        log(f"similar ranking fold {number + 1}/{len(blocks)}: {int(held_rows.sum())} pairs held out")
        for option in options:
            model = _make(option[0], option[1], config.seed).fit(frame.features[train_rows],
                                                                  labels[train_rows])
            oof[option][held_rows] = model.predict_proba(frame.features[held_rows])[:, 1]
    scored = fold_of_row >= 0

    def metrics(raw: np.ndarray, cut: float = -1.0) -> dict:
        rows = PairFrame(frame.query[scored], frame.candidate[scored], frame.features[scored],
                         frame.fused[scored])
        matches = rank_rows(rows, raw[scored], len(queries), pool.keys, lexical[linked],
                            semantic[linked], config.top_k, cut)
        return link_metrics(positives, matches)

    results = {FIXED: metrics(frame.fused)}
    for option in options:
        results[f"{option[0]}_c{option[1]:g}" if option[0] == LOGISTIC else option[0]] = metrics(oof[option])
    best_name = max(results, key=lambda name: (_score(results[name]), name == FIXED))
    cv = {"linked_queries": len(linked), "pairs": int(len(labels)), "positives": int(labels.sum()),
          "folds": len(blocks), "candidates": results, "chosen": best_name}
    if best_name == FIXED:
        fixed.cv = cv | {"reason": "no learned ranking beat the fixed fusion on held-out queries"}
        return fixed

    option = next(o for o in options if (f"{o[0]}_c{o[1]:g}" if o[0] == LOGISTIC else o[0]) == best_name)
    raw = oof[option][scored]
    from sklearn.linear_model import LogisticRegression

    platt = LogisticRegression(C=100.0, max_iter=1000).fit(_logit(raw)[:, None], labels[scored])
    calibration = (float(platt.coef_[0][0]), float(platt.intercept_[0]))
    probabilities = np.zeros(len(labels))
    probabilities[scored] = 1 / (1 + np.exp(-(calibration[0] * _logit(raw) + calibration[1])))
    # The highest cut-off that costs under one point of recall@10 on the held-out queries.
    full = metrics(probabilities)["recall_at_10"]
    cut = 0.0
    for candidate in CUTOFF_GRID:
        if metrics(probabilities, candidate)["recall_at_10"] >= full - 0.01 + 1e-12:
            cut = float(candidate)
    cv |= {"min_probability": cut, "calibration": calibration,
           "brier": float(np.mean((probabilities[scored] - labels[scored]) ** 2)),
           "with_cutoff": metrics(probabilities, cut)}
    log(f"similar ranking: kept {best_name} (held-out recall@10 {results[best_name]['recall_at_10']:.3f} "
        f"vs fixed {results[FIXED]['recall_at_10']:.3f}), cut-off p >= {cut:.2f}")
    model = _make(option[0], option[1], config.seed).fit(frame.features, labels)
    return SimilarRanker(best_name, model, calibration, cut, lexical_weight, cv)

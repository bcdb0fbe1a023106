"""Judging an encoder on a later period of the history it was not tuned on.

The newest share of the past projects (by creation date) is held out. Every project is read the
same way by every encoder (its title and up to `SENTENCES` of its prose passages, spread over
the document), so two encoders are compared on exactly the same texts, at a cost that does not
grow with document length. On the held-out projects:

- ``link_recall_at_10``, ``link_mrr``: their links among all the past projects, by centred
  document vectors;
- ``team_recall_at_3``: their teams among the top 3 of a vote of their 10 nearest older
  projects.

``score`` is the mean of the three; an encoder is better when its score is higher by at least
`MIN_GAIN` and no figure drops by more than `MAX_DROP`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from impacting.language.encoder import EmbeddingCache
from impacting.triage.corpus import Corpus

SENTENCES = 24
HELD_OUT_SHARE = 0.2
NEIGHBOURS = 10
MIN_GAIN = 0.005
MAX_DROP = 0.02


@dataclass(frozen=True)
class FoldFigures:
    link_recall_at_10: float | None
    link_mrr: float | None
    team_recall_at_3: float | None
    held_out: int              # projects in the held-out period
    link_queries: int          # of them, with links to other past projects
    texts: int                 # texts each encoder reads
    embed_seconds: float       # to embed the texts this cache did not hold yet
    texts_embedded: int

    @property
    def score(self) -> float:
        values = [v for v in (self.link_recall_at_10, self.link_mrr, self.team_recall_at_3) if v is not None]
        return float(np.mean(values)) if values else 0.0

    def as_dict(self) -> dict:
        return asdict(self) | {"score": self.score}


def held_out_cutoff(corpus: Corpus, share: float = HELD_OUT_SHARE) -> str | None:
    """The creation date from which the newest `share` of the dated projects is held out."""
    dates = sorted(r.created for r in corpus.requests if r.created)
    if len(dates) < 10:
        return None
    return dates[min(len(dates) - 1, int(round(len(dates) * (1 - share))))]


def _texts(corpus: Corpus, i: int) -> list[str]:
    passages = [c.text for c in corpus.passages[i]]
    if len(passages) > SENTENCES:
        passages = [passages[k] for k in np.linspace(0, len(passages) - 1, SENTENCES).round().astype(int)]
    title = corpus.requests[i].title.strip()
    return ([title] if title else []) + passages


def _document_vectors(corpus: Corpus, cache: EmbeddingCache) -> tuple[np.ndarray, int, float, int]:
    texts = [_texts(corpus, i) for i in range(len(corpus))]
    flat = [t for group in texts for t in group]
    before = cache.stats.embedded
    started = time.perf_counter()
    vectors = cache.embed(flat) if flat else np.zeros((0, cache.encoder.dimension), np.float32)
    seconds = time.perf_counter() - started
    out = np.zeros((len(corpus), vectors.shape[1]), np.float32)
    offset = 0
    for i, group in enumerate(texts):
        if group:
            out[i] = vectors[offset:offset + len(group)].mean(axis=0)
        offset += len(group)
    out -= out.mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-12), len(flat), seconds, cache.stats.embedded - before


def fold_figures(corpus: Corpus, cutoff: str, cache: EmbeddingCache) -> FoldFigures:
    """The encoder of `cache` judged on the projects created on or after `cutoff` (see module).
    `corpus` should already be without template sentences."""
    vectors, n_texts, seconds, embedded = _document_vectors(corpus, cache)
    created = [r.created for r in corpus.requests]
    held = [i for i, c in enumerate(created) if c is not None and c >= cutoff]
    older = np.array([c is not None and c < cutoff for c in created])
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    index = {key: j for j, key in enumerate(corpus.keys)}

    recalls, reciprocal = [], []
    for i in held:
        relevant = {index[k] for k in corpus.requests[i].links if k in index and index[k] != i}
        if not relevant:
            continue
        order = np.argsort(-similarity[i], kind="stable")
        recalls.append(len(relevant & set(order[:10].tolist())) / len(relevant))
        rank = next(r for r, j in enumerate(order, start=1) if j in relevant)
        reciprocal.append(1 / rank)

    teams = sorted({t for i in np.flatnonzero(older) for t in corpus.requests[i].teams})
    team_index = {t: j for j, t in enumerate(teams)}
    hits = total = 0
    if teams and older.sum() >= NEIGHBOURS:
        labels = np.zeros((len(corpus), len(teams)), np.float32)
        for i in np.flatnonzero(older):
            for t in corpus.requests[i].teams:
                labels[i, team_index[t]] = 1
        pool = np.flatnonzero(older)
        for i in held:
            truth = set(corpus.requests[i].teams)
            if not truth:
                continue
            near = pool[np.argsort(-similarity[i, pool], kind="stable")[:NEIGHBOURS]]
            weights = np.clip(similarity[i, near], 0, None) ** 2
            votes = weights @ labels[near]
            top = {teams[j] for j in np.argsort(-votes, kind="stable")[:3]}
            hits += len(top & truth)
            total += len(truth)
    return FoldFigures(
        link_recall_at_10=float(np.mean(recalls)) if recalls else None,
        link_mrr=float(np.mean(reciprocal)) if reciprocal else None,
        team_recall_at_3=hits / total if total else None,
        held_out=len(held), link_queries=len(recalls), texts=n_texts,
        embed_seconds=seconds, texts_embedded=embedded,
    )


def is_better(tuned: FoldFigures, bundled: FoldFigures) -> tuple[bool, str]:
    """Whether `tuned` should replace `bundled`, and why (in words for the `models` table)."""
    drops = [f"{name} {getattr(tuned, name):.3f} < {getattr(bundled, name):.3f} - {MAX_DROP}"
             for name in ("link_recall_at_10", "link_mrr", "team_recall_at_3")
             if getattr(tuned, name) is not None and getattr(bundled, name) is not None
             and getattr(tuned, name) < getattr(bundled, name) - MAX_DROP]
    if drops:
        return False, "worse than the bundled model on the held-out period: " + "; ".join(drops)
    if tuned.score < bundled.score + MIN_GAIN:
        return False, (f"not better than the bundled model on the held-out period (score "
                       f"{tuned.score:.3f} vs {bundled.score:.3f}, needs +{MIN_GAIN})")
    return True, f"better on the held-out period: score {tuned.score:.3f} vs {bundled.score:.3f}"


def passages_of(corpora: Sequence[Corpus]) -> int:
    """Texts the triage corpus would re-embed after a promotion (prose passages and titles)."""
    return sum(len(p) + bool(r.title.strip()) for c in corpora for r, p in zip(c.requests, c.passages,
                                                                                strict=True))

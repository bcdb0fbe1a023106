"""The learned ranking in the pipeline: retrained with the history it learns from, served from
the model registry, and left out when `triage.similar_ranking` is `fixed`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict

import pandas as pd

from impacting.triage.corpus import Corpus
from impacting.triage.ranking.model import DEFAULT_RANKER, RankerConfig, SimilarRanker
from impacting.triage.ranking.serve import train_ranker
from impacting.triage.registry import SIMILAR_RANKER, ModelRegistry, Registration
from impacting.triage.similar import SimilarityIndex

LEARNED, FIXED = "learned", "fixed"


def ranker_fingerprint(team_fingerprint: str, links: Mapping[str, Iterable[str]], lexical_weight: float,
                       people: Mapping[str, frozenset[str]], config: RankerConfig = DEFAULT_RANKER) -> str:
    """Changes when what the ranking learns from changes: the past projects (their texts, teams
    and dates, as the team model's fingerprint has them), their links (by key) and people, the
    fusion weight and the ranking's configuration. Known before anything is embedded."""
    digest = hashlib.sha256(team_fingerprint.encode())
    digest.update(json.dumps([lexical_weight, asdict(config)], sort_keys=True).encode())
    for key in sorted(links):
        digest.update(json.dumps([key, sorted(links[key]), sorted(people.get(key, ()))]).encode())
    return digest.hexdigest()


def people_of(details: pd.DataFrame) -> dict[str, frozenset[str]]:
    """Reporter and assignee of each request (`request_details` rows), where known."""
    out = {}
    for row in details.itertuples(index=False):
        names = {str(v) for v in (row.reporter_id, row.assignee_id, row.reporter, row.assignee)
                 if v is not None and not pd.isna(v) and str(v)}
        if names:
            out[row.key] = frozenset(names)
    return out


def update_ranker(registry: ModelRegistry, pool: Corpus, index: SimilarityIndex, fingerprint: str,
                  people: Mapping[str, frozenset[str]],
                  progress: Callable[[str], None] | None = None) -> Registration:
    """Learn and register the ranking; `index` is built on `pool`, the past projects."""
    ranker = train_ranker(pool, index, people=people, progress=progress)
    return registry.register_ranker(ranker, fingerprint, len(pool))


def serving_ranker(registry: ModelRegistry, mode: str) -> SimilarRanker | None:
    """The accepted ranking in `learned` mode (None: the fixed fusion serves)."""
    if mode != LEARNED:
        return None
    accepted = registry.accepted(SIMILAR_RANKER)
    return None if accepted is None else accepted[1]

"""What the `team_model` step trains besides the team model, each only when its inputs changed:
a fine-tuned encoder (when `triage.encoder` is `tuned`) and the learned similar-project ranking
(when `triage.similar_ranking` is `learned`). Both are registered in `models` like the team model."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pandas as pd

from impacting.language.encoder import EmbeddingCache, Encoder
from impacting.settings import TriageSettings
from impacting.triage.corpus import Corpus
from impacting.triage.history import PAST, load_corpus, load_template, request_details
from impacting.triage.kept_index import KeptIndex, pool_index
from impacting.triage.ranking.service import LEARNED, people_of, ranker_fingerprint, update_ranker
from impacting.triage.registry import SIMILAR_RANKER, ModelRegistry
from impacting.triage.tuning.service import (
    TUNED,
    encoder_fingerprint,
    needs_encoder_try,
    serving_encoder,
    try_tuned_encoder,
)
from impacting.triage.tuning.train import TuningConfig
from impacting.triage.tuning.trial import HistoryTooShort


def triage_encoder(con: duckdb.DuckDBPyConnection, registry: ModelRegistry, base: Encoder,
                   past: pd.DataFrame, settings: TriageSettings,
                   log: Callable[[str], None]) -> Encoder:
    """The encoder triage reads with this run. In `tuned` mode a fine-tuned encoder is tried
    first when the history grew enough since the last try (`tuning.service`); a try that is
    not better than `base` on the held-out period leaves the serving encoder as it was."""
    if settings.encoder == TUNED:
        config = TuningConfig()
        if needs_encoder_try(registry, encoder_fingerprint(config, base.model_id), len(past),
                             settings.encoder_retrain_growth):
            corpus = load_corpus(con, EmbeddingCache(con, base), PAST).without(load_template(con))
            try:
                registration = try_tuned_encoder(con, registry, corpus, base, config, log)
                log(f"fine-tuned encoder {registration.version} {registration.status}: "
                    f"{registration.reason}")
            except HistoryTooShort as reason:
                log(f"no fine-tuned encoder: {reason}")
    return serving_encoder(registry, base, settings.encoder)


def train_similar_ranking(con: duckdb.DuckDBPyConnection, registry: ModelRegistry,
                          cache: EmbeddingCache, team_fingerprint: str, settings: TriageSettings,
                          log: Callable[[str], None], kept: KeptIndex, rows: pd.DataFrame,
                          pool: Corpus | None = None) -> str:
    """Retrain the similar-project ranking when the past projects, their links or people
    changed; returns what happened, in words for the step's metadata. It trains on the index
    kept between runs (`kept`: the one `similar_projects` then searches). `rows`: the past
    projects' `triage_corpus` rows; `pool`: them as the team model read them this run, when it did."""
    if settings.similar_ranking != LEARNED:
        return "fixed fusion (learned ranking off)"
    people = people_of(request_details(con))
    fingerprint = ranker_fingerprint(team_fingerprint, dict(zip(rows["key"], rows["links"], strict=True)),
                                     settings.similar_lexical_weight, people)
    if not registry.needs_training(fingerprint, SIMILAR_RANKER):
        return "unchanged since the last run"
    if pool is None:
        pool = load_corpus(con, cache, PAST)
    index, report = pool_index(kept, pool, rows["text_sha256"].tolist(), load_template(con),
                               lexical_weight=settings.similar_lexical_weight,
                               candidates=settings.similar_candidates, model_id=cache.encoder.model_id)
    log(report.describe())
    registration = update_ranker(registry, pool, index, fingerprint, people, log)
    log(f"similar-project ranking {registration.version}: {registration.reason}")
    return registration.reason

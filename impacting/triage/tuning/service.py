"""Which encoder triage reads with, and when to try a fine-tuned one.

With `triage.encoder` = `tuned`, a fine-tuned encoder is tried when none has been tried for
this configuration, or when the history has grown by `triage.encoder_retrain_growth` since the
last try (fine-tuning takes minutes, and every promotion re-embeds the whole history, so it is
not redone for every new request). A try that is not better than the bundled model on the
held-out period is rejected and the encoder serving before goes on serving. With `bundled`
(the default) nothing is tuned and the configured model serves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict

import duckdb

from impacting.language.encoder import EmbeddingCache, Encoder, shared_encoder
from impacting.triage.corpus import Corpus
from impacting.triage.registry import ENCODER, ModelRegistry, Registration
from impacting.triage.tuning.train import DEFAULT_TUNING, TuningConfig
from impacting.triage.tuning.trial import try_encoder

BUNDLED, TUNED = "bundled", "tuned"


def encoder_fingerprint(config: TuningConfig, base_model_id: str) -> str:
    """Changes when a try would differ for reasons other than more history."""
    return hashlib.sha256(json.dumps([asdict(config), base_model_id], sort_keys=True).encode()).hexdigest()


def needs_encoder_try(registry: ModelRegistry, fingerprint: str, history_requests: int,
                      growth: float) -> bool:
    """True when no encoder was tried with this configuration, or the history grew by `growth`
    (a share) since the last try."""
    rows = registry.rows(ENCODER)
    if rows.empty:
        return True
    latest = rows.iloc[-1]
    if latest["fingerprint"] != fingerprint:
        return True
    return history_requests >= (1 + growth) * int(latest["training_requests"])


def serving_encoder(registry: ModelRegistry, base: Encoder, mode: str) -> Encoder:
    """The encoder triage reads with: the accepted fine-tuned one in `tuned` mode (when there is
    one), else `base`."""
    if mode != TUNED:
        return base
    accepted = registry.accepted_encoder()
    if accepted is None:
        return base
    row, folder = accepted
    return shared_encoder(str(folder), f"{ENCODER}/{row['version']}")


def try_tuned_encoder(con: duckdb.DuckDBPyConnection, registry: ModelRegistry, corpus: Corpus,
                      base: Encoder, config: TuningConfig = DEFAULT_TUNING,
                      progress: Callable[[str], None] | None = None) -> Registration:
    """Fine-tune `base` on the past projects in `corpus` (template sentences already out), judge
    it on the held-out period and register it: accepted when better, else rejected (its cached
    vectors dropped)."""
    fingerprint = encoder_fingerprint(config, base.model_id)
    version, folder = registry.encoder_version(fingerprint)
    model_id = f"{ENCODER}/{version}"
    trial = try_encoder(corpus, base, con, folder, model_id, config, progress)
    registration = registry.register_encoder(trial, version, fingerprint, len(corpus))
    if not trial.better:
        EmbeddingCache(con, Encoder(str(folder), model_id=model_id)).forget()
    return registration

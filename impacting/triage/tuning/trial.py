"""One try at an encoder adapted to the history: pairs before a cut-off, fine-tuning, and the
verdict on the held-out period against the model it started from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from impacting.language.encoder import EmbeddingCache, Encoder, resolve_model
from impacting.triage.corpus import Corpus
from impacting.triage.tuning.heldout import FoldFigures, fold_figures, held_out_cutoff, is_better, passages_of
from impacting.triage.tuning.pairs import history_pairs
from impacting.triage.tuning.train import DEFAULT_TUNING, TuningConfig, TuningRun, fine_tune


class HistoryTooShort(ValueError):
    """Too few dated past projects to hold a period out and still learn from the rest."""


@dataclass(frozen=True)
class EncoderTrial:
    folder: Path
    model_id: str
    cutoff: str
    pair_kinds: dict[str, int]
    run: TuningRun
    bundled: FoldFigures
    tuned: FoldFigures
    better: bool
    reason: str
    history_texts: int              # texts the triage corpus re-embeds after a promotion
    reembed_estimate_seconds: float  # at the rate the tuned model embedded the held-out texts

    def metrics(self) -> dict:
        """What `metrics.json` and the `models` row keep."""
        return {
            "cutoff": self.cutoff, "pairs": self.pair_kinds, "fine_tuning_seconds": self.run.seconds,
            "steps": self.run.steps, "final_loss": self.run.final_loss, "threads": self.run.threads,
            "held_out": {"bundled": self.bundled.as_dict(), "tuned": self.tuned.as_dict()},
            "better": self.better, "reason": self.reason, "history_texts": self.history_texts,
            "reembed_estimate_seconds": self.reembed_estimate_seconds,
        }


def try_encoder(corpus: Corpus, base: Encoder, con: duckdb.DuckDBPyConnection, folder: Path,
                model_id: str, config: TuningConfig = DEFAULT_TUNING,
                progress: Callable[[str], None] | None = None) -> EncoderTrial:
    """Fine-tune `base` on the pairs of `corpus` (past projects, template sentences left out)
    created before the held-out period, save it in `folder`, and judge both on that period.

    Vectors are looked up in and added to the embedding cache of `con` under each model's id;
    a tuned model that is not better should have its vectors dropped by the caller
    (:meth:`EmbeddingCache.forget`) once it is rejected."""
    log = progress or (lambda message: None)
    cutoff = held_out_cutoff(corpus)
    if cutoff is None:
        raise HistoryTooShort("fewer than 10 dated past projects: too few to fine-tune the encoder on "
                              "and judge it on a later period")
    pairs = history_pairs(corpus, before=cutoff, seed=config.seed)
    log(f"fine-tuning the encoder on {len(pairs)} pairs from projects created before {cutoff}")
    run = fine_tune(resolve_model(base.model), pairs, folder, config, progress=log)
    tuned_encoder = Encoder(str(folder), model_id=model_id)
    bundled = fold_figures(corpus, cutoff, EmbeddingCache(con, base))
    tuned = fold_figures(corpus, cutoff, EmbeddingCache(con, tuned_encoder))
    better, reason = is_better(tuned, bundled)
    log(f"encoder on the held-out period: tuned {tuned.score:.3f}, bundled {bundled.score:.3f}: {reason}")
    rate = tuned.texts_embedded / tuned.embed_seconds if tuned.embed_seconds > 0 else 0.0
    texts = passages_of([corpus])
    return EncoderTrial(
        folder=Path(folder), model_id=model_id, cutoff=cutoff,
        pair_kinds=dict(Counter(p.kind for p in pairs)), run=run, bundled=bundled, tuned=tuned,
        better=better, reason=reason, history_texts=texts,
        reembed_estimate_seconds=texts / rate if rate else float("nan"),
    )

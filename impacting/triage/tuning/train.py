"""Fine-tuning the sentence encoder on history pairs, on the CPU, with in-batch negatives.

A plain training loop around sentence-transformers' `MultipleNegativesRankingLoss` (symmetric:
each text must pick out its partner among the batch's texts, both ways); no `datasets` or
`accelerate` needed. The result is an ordinary sentence-transformers folder that
:class:`~impacting.language.encoder.Encoder` loads offline.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from impacting.triage.tuning.pairs import Pair, pair_batches


@dataclass(frozen=True)
class TuningConfig:
    batch_size: int = 32
    epochs: int = 1
    learning_rate: float = 3e-5
    warmup_share: float = 0.1
    max_seq_length: int = 128       # tokens; history stretches are ~60 words
    scale: float = 20.0             # the loss's temperature (cosine x scale)
    max_pairs: int = 6000           # a cap so that a long history still trains in minutes
    # Optimiser steps at most: on 2 CPU cores a step of 32 pairs takes ~20 s, so 60 steps keep
    # a try near 20 minutes whatever the history's size (docs/benchmarks.md).
    max_steps: int = 60
    seed: int = 0


DEFAULT_TUNING = TuningConfig()


@dataclass(frozen=True)
class TuningRun:
    folder: Path
    pairs: int
    steps: int
    seconds: float
    final_loss: float | None
    threads: int


def fine_tune(base_folder: str, pairs: Sequence[Pair], out: Path, config: TuningConfig = DEFAULT_TUNING,
              progress: Callable[[str], None] | None = None) -> TuningRun:
    """Fine-tune the sentence-transformers model in `base_folder` on `pairs` and save it in `out`.

    Deterministic for a given seed and thread count (batches and initialisation are seeded)."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    log = progress or (lambda message: None)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    if len(pairs) > config.max_pairs:
        pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), config.max_pairs, replace=False))]
    model = SentenceTransformer(base_folder, device="cpu")
    model.max_seq_length = config.max_seq_length
    loss = MultipleNegativesRankingLoss(model, scale=config.scale,
                                        directions=("query_to_doc", "doc_to_query"))
    schedule = [batch for epoch in range(config.epochs)
                for batch in pair_batches(pairs, config.batch_size, seed=config.seed + epoch)]
    schedule = schedule[:config.max_steps]   # batches are shuffled: the first ones mix all kinds
    if not schedule:
        raise ValueError("no batch of at least two training pairs: the history is too small to "
                         "fine-tune the encoder on")
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    warmup = max(1, int(config.warmup_share * len(schedule)))

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (len(schedule) - step) / max(1, len(schedule) - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    # sentence-transformers 6 renamed `tokenize` to `preprocess`; 4 and 5 only have `tokenize`.
    prepare = getattr(model, "preprocess", None) or model.tokenize
    model.train()
    started = time.perf_counter()
    last = None
    for step, batch in enumerate(schedule):
        features = [prepare([p.anchor for p in batch]), prepare([p.positive for p in batch])]
        value = loss(features, None)
        optimizer.zero_grad()
        value.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        last = float(value.detach())
        if step % 20 == 0 or step == len(schedule) - 1:
            log(f"fine-tuning step {step + 1}/{len(schedule)}: loss {last:.3f} "
                f"({time.perf_counter() - started:.0f} s)")
    seconds = time.perf_counter() - started
    model.eval()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    return TuningRun(out, len(pairs), len(schedule), seconds, last, torch.get_num_threads())

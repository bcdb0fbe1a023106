"""Optional abstractive summaries: extract, then rewrite with a local seq2seq model.

A seq2seq model (BART, T5, Pegasus, ...) reads at most a few hundred words, far less than a
design document. So the extractive method first picks the sentences that best cover the whole
document, up to what the model can read, and the model rewrites that extract at the requested
length. Documents of any length therefore work, and the model sees every main section.

The model comes from a local folder or a model id already in the local Hugging Face cache;
nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from impacting.language.chunking import Chunk
from impacting.language.encoder import ModelUnavailable
from impacting.language.summarise import (
    DEFAULT_PARAMS,
    Degree,
    Summary,
    SummaryParams,
    extractive_summary,
)
from impacting.settings import var

# Roughly 1.4 word pieces per English word: converts the model's window to a word budget.
TOKENS_PER_WORD = 1.4


class AbstractiveSummariser:
    """Extract-then-abstract summaries with a seq2seq model loaded offline on first use."""

    def __init__(self, model: str, *, max_input_tokens: int = 1024, num_beams: int = 2,
                 device: str = "cpu"):
        self.model = model
        self.max_input_tokens = max_input_tokens
        self.num_beams = num_beams
        self.device = device
        self._loaded = None

    def load(self):
        """(tokenizer, model), loaded once; `ModelUnavailable` says what to configure."""
        if self._loaded is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            source = str(Path(self.model).expanduser()) if Path(self.model).expanduser().is_dir() \
                else self.model
            try:
                tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
                model = AutoModelForSeq2SeqLM.from_pretrained(source, local_files_only=True)
            except Exception as error:
                raise ModelUnavailable(
                    f"abstractive summary model {self.model!r} could not be loaded offline "
                    f"({error}); set {var('language.abstractive_model')} to a local folder holding a "
                    "transformers seq2seq model and its tokenizer, or set "
                    f"{var('language.summary_method')}=extractive"
                ) from error
            model.to(self.device).eval()
            self._loaded = (tokenizer, model)
        return self._loaded

    @property
    def input_tokens(self) -> int:
        """How many input tokens the model reads: its window, or `max_input_tokens` if less."""
        tokenizer, model = self.load()
        limits = [self.max_input_tokens, getattr(model.config, "max_position_embeddings", None),
                  tokenizer.model_max_length if tokenizer.model_max_length < 10**6 else None]
        return min(limit for limit in limits if limit)

    def summarise(self, chunks: Sequence[Chunk], vectors: np.ndarray, degree: Degree, *,
                  params: SummaryParams = DEFAULT_PARAMS, skip: Collection[str] = (),
                  title_vector: np.ndarray | None = None) -> Summary:
        """A rewritten summary of about `degree` words, from an extract the model can read.

        `chunk_indexes` are the extract's sentences, so a reader can check what it came from.
        If the model produces no words, the extract at the requested length is returned instead.
        """
        import torch

        tokenizer, model = self.load()
        target = degree.budget(sum(c.words for c in chunks))
        window_words = max(1, int(self.input_tokens / TOKENS_PER_WORD))
        extract = extractive_summary(chunks, vectors, Degree(words=min(window_words, 3 * target)),
                                     params=params, skip=skip, title_vector=title_vector)
        if not extract.text:
            return extract
        inputs = tokenizer(extract.text, truncation=True, max_length=self.input_tokens,
                           return_tensors="pt").to(self.device)
        target_tokens = max(1, int(target * TOKENS_PER_WORD))
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=target_tokens + 16,
                                    min_new_tokens=max(1, target_tokens // 2),
                                    num_beams=self.num_beams, no_repeat_ngram_size=3)
        text = " ".join(tokenizer.decode(output[0], skip_special_tokens=True).split())
        if not text:
            return extractive_summary(chunks, vectors, degree, params=params, skip=skip,
                                      title_vector=title_vector)
        return Summary(text, extract.chunk_indexes, "abstractive", degree.describe())

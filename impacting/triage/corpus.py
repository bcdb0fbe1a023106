"""What triage sees of a request: its passages and their vectors, one document vector, its words.

The pipeline (requests and the chunks the language stage made, via `triage.history`) and the
evaluation (records from a benchmark file) both turn their requests into a :class:`Corpus`
with :func:`corpus_from_chunks`, so the team model and the similarity search are fed exactly
the same way in both. Vectors come only from the shared
:class:`~impacting.language.encoder.EmbeddingCache`, so a sentence is embedded once for every stage.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from impacting.language.chunking import CODE, HEADING, SENTENCE, TABLE, Chunk, chunk_document
from impacting.language.encoder import EmbeddingCache
from impacting.language.vectors import document_vector, embed_chunks, prose_chunks

# Words a person wrote (headings, code and tables name APIs and components too); template
# comments and tables of contents are the same in every document, so they only add noise.
LEXICAL_KINDS = frozenset({SENTENCE, HEADING, CODE, TABLE})

# Texts handed to the embedding cache at once: large enough to batch well, small enough that a
# long first run stores its progress as it goes.
EMBED_BATCH_TEXTS = 2048


@dataclass(frozen=True)
class Request:
    """A project request as triage sees it: its words, and what is known about its teams."""

    key: str
    title: str
    text: str
    teams: tuple[str, ...] = ()
    created: str | None = None          # ISO date; orders history for temporal evaluation
    owner_team: str | None = None
    links: tuple[str, ...] = ()         # related requests (ground truth for similar projects)

    @classmethod
    def from_bench(cls, record: Mapping) -> Request:
        """A record of a `*.bench.jsonl` file (see the shared data README)."""
        return cls(
            key=str(record["key"]),
            title=str(record.get("title") or ""),
            text=str(record.get("text") or ""),
            teams=tuple(dict.fromkeys(str(t) for t in record.get("teams") or ())),
            created=str(record["created"]) if record.get("created") else None,
            owner_team=record.get("owner_team") or None,
            links=tuple(str(k) for k in record.get("links") or ()),
        )


@dataclass
class Corpus:
    """Requests with their prose passages, passage vectors, document vectors and lexical text.

    `word_chunks` (the chunks the lexical text is made of) and `title_vectors` are kept when
    the corpus comes from :func:`represent`, so :meth:`without` can drop template sentences.
    """

    requests: list[Request]
    passages: list[list[Chunk]]
    passage_vectors: list[np.ndarray]
    vectors: np.ndarray                 # (n, dim) unit document vectors
    lexical: list[str]
    word_chunks: list[list[Chunk]] | None = None
    title_vectors: np.ndarray | None = None   # (n, dim); a zero row: no title
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {r.key: i for i, r in enumerate(self.requests)}

    def __len__(self) -> int:
        return len(self.requests)

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.requests]

    def position(self, key: str) -> int | None:
        return self._index.get(key)

    def subset(self, indices: Iterable[int]) -> Corpus:
        picked = list(indices)
        return Corpus(
            requests=[self.requests[i] for i in picked],
            passages=[self.passages[i] for i in picked],
            passage_vectors=[self.passage_vectors[i] for i in picked],
            vectors=self.vectors[picked] if picked else self.vectors[:0],
            lexical=[self.lexical[i] for i in picked],
            word_chunks=None if self.word_chunks is None else [self.word_chunks[i] for i in picked],
            title_vectors=None if self.title_vectors is None else
            (self.title_vectors[picked] if picked else self.title_vectors[:0]),
        )

    def with_teams(self, teams: Sequence[Sequence[str]]) -> Corpus:
        """The same corpus with other team labels (feedback applied); vectors are shared."""
        requests = [Request(r.key, r.title, r.text, tuple(t), r.created, r.owner_team, r.links)
                    for r, t in zip(self.requests, teams, strict=True)]
        return Corpus(requests, self.passages, self.passage_vectors, self.vectors, self.lexical,
                      self.word_chunks, self.title_vectors)

    def filters(self, template: frozenset[str]) -> bool:
        """Whether :meth:`without` leaves anything out (it needs the chunks and titles)."""
        return bool(template) and self.word_chunks is not None and self.title_vectors is not None

    def kept_passage_vectors(self, i: int, template: frozenset[str]) -> np.ndarray:
        """Request `i`'s passage vectors without template sentences (the array itself when none
        is left out)."""
        matrix = self.passage_vectors[i]
        if not self.filters(template):
            return matrix
        kept = [k for k, c in enumerate(self.passages[i]) if c.sha256 not in template]
        return matrix if len(kept) == len(matrix) else matrix[kept]

    def lexical_without(self, template: frozenset[str]) -> list[str]:
        """The lexical texts without template sentences (what :meth:`without` gives, without
        copying any vector)."""
        if not self.filters(template):
            return self.lexical
        return [lexical_text(r.title, [c for c in chunks if c.sha256 not in template])
                for r, chunks in zip(self.requests, self.word_chunks, strict=True)]

    def without(self, template: frozenset[str]) -> Corpus:
        """The corpus with template sentences (by SHA-256) left out of its passages, document
        vectors and lexical text: text every document shares says nothing about its topic."""
        if not self.filters(template):
            return self
        passages, passage_vectors = [], []
        vectors = np.zeros_like(self.vectors)
        for i, (chunks, matrix) in enumerate(zip(self.passages, self.passage_vectors, strict=True)):
            kept = [k for k, c in enumerate(chunks) if c.sha256 not in template]
            passages.append([chunks[k] for k in kept])
            passage_vectors.append(matrix[kept])
            vectors[i] = _document_vector(self.title_vectors[i], matrix[kept])
        word_chunks = [[c for c in chunks if c.sha256 not in template] for chunks in self.word_chunks]
        lexical = [lexical_text(r.title, chunks) for r, chunks in zip(self.requests, word_chunks,
                                                                       strict=True)]
        return Corpus(self.requests, passages, passage_vectors, vectors, lexical, word_chunks,
                      self.title_vectors)

    @staticmethod
    def concat(parts: Sequence[Corpus]) -> Corpus:
        non_empty = [p for p in parts if len(p)]
        if not non_empty:
            return parts[0]
        complete = all(p.word_chunks is not None and p.title_vectors is not None for p in non_empty)
        return Corpus(
            requests=[r for p in non_empty for r in p.requests],
            passages=[c for p in non_empty for c in p.passages],
            passage_vectors=[v for p in non_empty for v in p.passage_vectors],
            vectors=np.vstack([p.vectors for p in non_empty]),
            lexical=[t for p in non_empty for t in p.lexical],
            word_chunks=[c for p in non_empty for c in p.word_chunks] if complete else None,
            title_vectors=np.vstack([p.title_vectors for p in non_empty]) if complete else None,
        )


def _document_vector(title_vector: np.ndarray, passage_vectors: np.ndarray) -> np.ndarray:
    """The mean of the title's vector (when there is a title) and the passages' vectors."""
    parts = passage_vectors if not title_vector.any() else \
        np.vstack([title_vector[None, :], passage_vectors])
    if not len(parts):
        return np.zeros_like(title_vector)
    return document_vector(parts)


def lexical_text(title: str, chunks: Sequence[Chunk]) -> str:
    """The words a lexical model reads: the title, then the document without template noise."""
    return "\n".join([title, *(c.text for c in chunks if c.kind in LEXICAL_KINDS)])


def text_fingerprint(title: str, chunks: Sequence[Chunk]) -> str:
    """SHA-256 of what triage reads of a request: its title and its chunks in order. Changes
    exactly when its passages or words change, so it is safe to fingerprint training data by."""
    digest = hashlib.sha256(title.encode("utf-8"))
    for chunk in chunks:
        digest.update(b"\n" + chunk.kind.encode() + b":" + chunk.sha256.encode())
    return digest.hexdigest()


def represent(requests: Sequence[Request], cache: EmbeddingCache,
              progress: Callable[[int, int], None] | None = None) -> Corpus:
    """Chunk each request's text and describe it (:func:`corpus_from_chunks`): the evaluation's
    and the on-demand commands' way in, from plain text."""
    return corpus_from_chunks(requests, [chunk_document(r.key, r.text) for r in requests], cache,
                              progress)


def corpus_from_chunks(requests: Sequence[Request], chunk_lists: Sequence[Sequence[Chunk]],
                       cache: EmbeddingCache,
                       progress: Callable[[int, int], None] | None = None) -> Corpus:
    """Describe every request from its chunks, in order: prose passages and their vectors (from
    the cache), the title's vector, one document vector, and the words a lexical model reads.

    The document vector is the mean of the title's vector and the prose passages' vectors, so
    a ticket with a one-line body still has a meaningful vector. A request with no words at all
    gets a zero vector: it resembles nothing rather than failing the run. The pipeline calls
    this with the chunks the language stage already made; nothing is chunked twice.
    """
    passages: list[list[Chunk]] = []
    lexical: list[str] = []
    word_chunks: list[list[Chunk]] = []
    for request, chunks in zip(requests, chunk_lists, strict=True):
        passages.append(prose_chunks(chunks))
        word_chunks.append([c for c in chunks if c.kind in LEXICAL_KINDS])
        lexical.append(lexical_text(request.title, word_chunks[-1]))

    passage_vectors: list[np.ndarray] = []
    title_vectors: list[np.ndarray | None] = []
    batch: list[int] = []
    batch_texts = 0

    def flush() -> None:
        nonlocal batch_texts
        if not batch:
            return
        titles = [requests[i].title.strip() for i in batch]
        chunk_list = [c for i in batch for c in passages[i]]
        vectors = embed_chunks(cache, chunk_list) if chunk_list else None
        title_vecs = cache.embed([t for t in titles if t]) if any(titles) else None
        offset, t_offset = 0, 0
        for i, title in zip(batch, titles, strict=True):
            n = len(passages[i])
            passage_vectors.append(vectors[offset:offset + n] if n else
                                   np.zeros((0, cache.encoder.dimension), dtype=np.float32))
            offset += n
            if title:
                title_vectors.append(title_vecs[t_offset])
                t_offset += 1
            else:
                title_vectors.append(None)
        batch.clear()
        batch_texts = 0
        if progress:
            progress(len(passage_vectors), len(requests))

    for i in range(len(requests)):
        batch.append(i)
        batch_texts += len(passages[i]) + 1
        if batch_texts >= EMBED_BATCH_TEXTS:
            flush()
    flush()

    dim = cache.encoder.dimension
    titles = np.zeros((len(requests), dim), dtype=np.float32)
    for i, title_vec in enumerate(title_vectors):
        if title_vec is not None:
            titles[i] = title_vec
    doc_vectors = np.zeros((len(requests), dim), dtype=np.float32)
    for i, vecs in enumerate(passage_vectors):
        doc_vectors[i] = _document_vector(titles[i], vecs)
    return Corpus(list(requests), passages, passage_vectors, doc_vectors, lexical, word_chunks, titles)


def template_passages(corpus: Corpus) -> frozenset[str]:
    """SHA-256 of the sentences so common across `corpus` that they are template text ("How can
    this feature be enabled / disabled in a live cluster?")."""
    return template_sentences(corpus.passages)


def template_sentences(passage_lists: Iterable[Sequence[Chunk]]) -> frozenset[str]:
    """Template sentences among requests' passages, by the language stage's rule
    (`CorpusStats`), so both stages agree on what template text is."""
    from impacting.language.document_frequencies import CorpusStats

    passage_lists = list(passage_lists)
    return CorpusStats(
        documents=len(passage_lists),
        sentence_documents=dict(Counter(sha for chunks in passage_lists
                                        for sha in {c.sha256 for c in chunks})),
    ).template_sentences


def tfidf_vectorizer(n_documents: int):
    """The one TF-IDF recipe for lexical features and lexical similarity.

    Sublinear term frequency so a 20,000-word design document does not drown a ticket; word
    pairs because "volume snapshot" means more than "volume" and "snapshot"; terms in a single
    document are dropped once there are enough documents for that to matter.
    """
    from impacting.triage.terms import Tfidf

    return Tfidf(
        sublinear_tf=True, ngram_range=(1, 2), min_df=2 if n_documents >= 20 else 1,
        max_df=0.8 if n_documents >= 20 else 1.0, max_features=100_000,
        stop_words="english", dtype=np.float32,
    )

"""Key phrases of a document: KeyBERT on the shared model, the whole document, corpus-aware.

KeyBERT alone embeds a document as one text, which the model truncates to its first ~200
words, and embeds every candidate phrase again for every document. Here the document is the
unit-length mean of all its sentence vectors (already in the embedding cache), candidate
phrases go through the same cache (a phrase is embedded once for the whole corpus), and KeyBERT
does what it is good at: maximal marginal relevance, so the phrases are diverse.

Corpus awareness: a phrase in more than `max_share` of the documents ("user stories",
"graduation criteria") is not a candidate, candidates are pre-ranked by TF-IDF, and the final
score is KeyBERT's relevance times (1 - share of documents containing the phrase).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from impacting.language.chunking import Chunk
from impacting.language.document_frequencies import (
    CorpusStats,
    document_phrases,
    keyword_source,
    phrase_analyzer,
)
from impacting.language.encoder import EmbeddingCache
from impacting.language.vectors import document_vector
from impacting.settings import LanguageSettings


@dataclass(frozen=True)
class Keyword:
    phrase: str
    score: float        # what the ranking uses: relevance × (1 - corpus share)
    relevance: float    # cosine similarity of the phrase to the whole document
    share: float        # share of the corpus's documents that contain the phrase
    count: int          # occurrences in this document


@dataclass(frozen=True)
class KeywordParams:
    top_n: int = LanguageSettings().keyword_count
    candidates: int = 150     # phrases embedded per document, best TF-IDF first
    diversity: float = 0.5    # KeyBERT's MMR diversity: 0 = relevance only, 1 = diversity only
    max_share: float = 0.5    # phrases in more documents than this share are template words
    # In a document of this many words or more, a two-word phrase must occur twice to count:
    # once-only pairs are mostly accidents of wording ("check kubectl"), not terms.
    repeat_pairs_from_words: int = 1000


class KeywordExtractor:
    """Keywords for one document at a time, sharing the model and cache across documents."""

    def __init__(self, cache: EmbeddingCache, corpus: CorpusStats | None = None,
                 params: KeywordParams = KeywordParams()):
        from keybert import KeyBERT

        self.cache = cache
        self.corpus = corpus or CorpusStats()
        self.params = params
        self.keybert = KeyBERT(model=cache.encoder.load())

    def phrases(self, chunks: Sequence[Chunk]) -> list[str]:
        """The candidate phrases of a document that :meth:`extract` embeds (so a caller can have
        many documents' phrases embedded at once)."""
        return self._candidates(document_phrases(chunks), sum(c.words for c in keyword_source(chunks)))

    def extract(self, chunks: Sequence[Chunk], prose_vectors: np.ndarray,
                phrases: list[str] | None = None) -> list[Keyword]:
        """The top keywords of a document from all its `chunks` and its prose sentence vectors;
        `phrases`: its :meth:`phrases`, when the caller has them already."""
        counts = document_phrases(chunks)
        source = keyword_source(chunks)
        if phrases is None:
            phrases = self._candidates(counts, sum(c.words for c in source))
        if not phrases or len(prose_vectors) == 0:
            return []
        from sklearn.feature_extraction.text import CountVectorizer

        text = "\n".join(c.text for c in source)
        # The vocabulary is exactly our candidates, so KeyBERT's word embeddings line up with it.
        vectorizer = CountVectorizer(vocabulary=phrases, analyzer=phrase_analyzer())
        found = self.keybert.extract_keywords(
            [text], vectorizer=vectorizer,
            doc_embeddings=document_vector(prose_vectors)[None, :],
            word_embeddings=self.cache.embed(phrases),
            use_mmr=True, diversity=self.params.diversity,
            top_n=min(len(phrases), 2 * self.params.top_n),
        )
        keywords = []
        for phrase, relevance in found:
            share = self.corpus.phrase_share(phrase)
            keywords.append(Keyword(phrase, float(relevance) * (1.0 - share), float(relevance),
                                    share, counts[phrase]))
        keywords.sort(key=lambda k: (-k.score, k.phrase))
        return keywords[: self.params.top_n]

    def _candidates(self, counts, words: int) -> list[str]:
        """Phrases worth embedding: not template words, best TF-IDF first, at most `candidates`."""
        corpus, params = self.corpus, self.params
        least_pair_count = 2 if words >= params.repeat_pairs_from_words else 1
        allowed = [p for p, n in counts.items() if corpus.phrase_share(p) <= params.max_share
                   and (n >= least_pair_count or " " not in p)]
        allowed.sort(key=lambda p: (-counts[p] * corpus.idf(p), p))
        return allowed[: params.candidates]

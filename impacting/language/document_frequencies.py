"""What the whole collection of documents says about one of them: which phrases and sentences
are everywhere (template text) and which are specific.

Design documents are written from templates: every Kubernetes Enhancement Proposal has "user
stories" and "graduation criteria" and the same production-readiness checklist sentences. A
phrase or sentence found in many documents tells a reader nothing about this one, so keywords
are penalised by how many documents contain them, and template sentences are kept out of
summaries.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from impacting.language.chunking import HEADING, SENTENCE, Chunk

# Words joined by hyphens or underscores stay one token: "kube-apiserver", "dry-run".
TOKEN_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z0-9]*(?:[-_][a-zA-Z0-9]+)*\b"
# Besides scikit-learn's English stop words: Latin abbreviations, markup leftovers, and generic
# verbs and modifiers that never make a key phrase ("kubelet needs", "existing standard").
EXTRA_STOP_WORDS = frozenset("""
    eg ie etc vs via tbd todo nbsp http https www com io html md
    use uses used using need needs needed allow allows allowed allowing ensure ensures ensuring
    make makes made making provide provides provided providing require requires required
    include includes included including continue continues continued want wants able
    existing new specified approved enabled based following current currently different
    specific possible example examples case cases way ways does doesn don going get gets
    like just given instead later will shall
    """.split())
# A sentence in at least this many documents (and this share of them) is template text.
TEMPLATE_MIN_DOCUMENTS = 3
TEMPLATE_MIN_SHARE = 0.01
# Below this many documents, document frequencies say nothing and no penalty applies.
MIN_CORPUS_DOCUMENTS = 5

_TOKEN = re.compile(TOKEN_PATTERN)
# Punctuation that ends a phrase: a pair of words never straddles it.
_CLAUSE_BREAK = re.compile(r"[,;:!?()\[\]{}\"|]|\.(?:\s|$)")
_DIGITS = re.compile(r"^[a-z]?\d[\d\-_]*$")


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS | EXTRA_STOP_WORDS)


def phrase_analyzer():
    """Text → candidate phrases: lower-case words and pairs of adjacent words, none of them a
    stop word. Unlike scikit-learn's analyzer, a pair never spans a removed stop word ("support
    of overhead" gives no "support overhead") or punctuation. The one definition shared by keyword candidates,
    KeyBERT's vocabulary and corpus document frequencies."""
    stop = _stop_words()

    def analyze(text: str) -> list[str]:
        phrases = []
        for clause in _CLAUSE_BREAK.split(text.lower()):
            tokens = [t if len(t) > 1 and t not in stop else None for t in _TOKEN.findall(clause)]
            for i, token in enumerate(tokens):
                if token is None:
                    continue
                phrases.append(token)
                if i + 1 < len(tokens) and tokens[i + 1] is not None:
                    phrases.append(f"{token} {tokens[i + 1]}")
        return phrases

    return analyze


def keyword_source(chunks: Sequence[Chunk]) -> list[Chunk]:
    """The chunks keywords are drawn from: prose and headings (not code, comments or tables)."""
    return [c for c in chunks if c.kind in (SENTENCE, HEADING)]


def document_phrases(chunks: Sequence[Chunk]) -> Counter[str]:
    """How often each candidate phrase occurs in the document (never across a sentence break)."""
    analyze = phrase_analyzer()
    counts: Counter[str] = Counter()
    for chunk in keyword_source(chunks):
        counts.update(p for p in analyze(chunk.text) if _is_candidate(p))
    return counts


def _is_candidate(phrase: str) -> bool:
    words = phrase.split()
    if all(_DIGITS.match(w) for w in words):
        return False
    return len(words) > 1 or len(phrase) >= 3


@dataclass(frozen=True)
class CorpusStats:
    """Document frequencies of phrases and sentences over a collection of documents."""

    documents: int = 0
    phrase_documents: dict[str, int] = field(default_factory=dict)
    sentence_documents: dict[str, int] = field(default_factory=dict)  # by sentence SHA-256

    @classmethod
    def build(cls, documents: Iterable[Sequence[Chunk]]) -> CorpusStats:
        """Count, over `documents` (each a list of its chunks), how many contain each item."""
        phrases: Counter[str] = Counter()
        sentences: Counter[str] = Counter()
        n = 0
        for chunks in documents:
            n += 1
            phrases.update(document_phrases(chunks).keys())
            sentences.update({c.sha256 for c in chunks if c.kind == SENTENCE})
        return cls(n, dict(phrases), dict(sentences))

    @property
    def informative(self) -> bool:
        return self.documents >= MIN_CORPUS_DOCUMENTS

    def phrase_share(self, phrase: str) -> float:
        """The share of documents containing `phrase` (0 when the corpus is too small to say)."""
        if not self.informative:
            return 0.0
        return min(1.0, self.phrase_documents.get(phrase, 0) / self.documents)

    def idf(self, phrase: str) -> float:
        """Smoothed inverse document frequency, as scikit-learn computes it (≥ 1)."""
        if not self.informative:
            return 1.0
        df = self.phrase_documents.get(phrase, 0)
        return math.log((1 + self.documents) / (1 + df)) + 1.0

    @cached_property
    def template_sentences(self) -> frozenset[str]:
        """SHA-256 of the sentences common enough across documents to be template text."""
        if not self.informative:
            return frozenset()
        least = max(TEMPLATE_MIN_DOCUMENTS, math.ceil(TEMPLATE_MIN_SHARE * self.documents))
        return frozenset(h for h, n in self.sentence_documents.items() if n >= least)

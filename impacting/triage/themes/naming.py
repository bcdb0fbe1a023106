"""A theme's name: the keywords most distinctive of its requests.

Candidates are the phrases of the theme's requests' keywords (the `keywords` table: KeyBERT
phrases of each request's documents) and the words they are made of ("coredns" out of "deploy
coredns" and "coredns graduation"). Each candidate is scored by how much more often it occurs in
the theme's requests than in the others: with `p` the share of the theme's requests whose
text holds the phrase and `q` the share of the other requests,

    score = p × log((p + ε) / (q + ε)) × (1 − s),    ε = 1 / requests,

a term of the Kullback-Leibler divergence between the theme and the rest, high for a phrase
frequent in the theme (large `p`) and rare elsewhere (`q` much smaller), discounted by `s`, the
share of all requests that hold it, as document keywords are (general words such as "change" or
"resources" make poor names even where they are frequent). "kubernetes", in every
request, scores 0 wherever it is; "volume snapshot", in half the storage theme and almost nowhere
else, scores high. A candidate found in more than two in five of the other requests is too
common to name the theme, however frequent in it ("change", "api"). The label is the best three, leaving out a
phrase that shares a word (or its first five letters) with a better one ("volumes" after
"volume snapshot", "scheduler" after "scheduling").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KEYWORDS_KEPT = 10
# A phrase in more of the other requests than this is common vocabulary, not the theme's.
MAX_SHARE = 0.4
STEM_LETTERS = 5
LABEL_KEYWORDS = 3
LABEL_SEPARATOR = " · "


@dataclass(frozen=True)
class ThemeKeyword:
    phrase: str
    share: float         # of the theme's requests whose text holds it
    elsewhere: float     # of the other requests
    score: float
    own: bool = True     # one of the theme's requests' keywords (or a word of one)


def phrase_scores(clusters: np.ndarray, keywords: Sequence[Sequence[str]], texts: Sequence[str],
                  also: Sequence[str] = ()) -> dict[int, dict[str, ThemeKeyword]]:
    """Per cluster, every candidate scored: its requests' keyword phrases and their words, and
    the phrases `also` (e.g. the words of last run's labels, to see whether they still fit).

    `clusters` gives each request's cluster; `keywords` each request's keyword phrases (any
    order); `texts` each request's words, searched for the phrases.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    from impacting.language.document_frequencies import phrase_analyzer

    keywords = [_with_words(phrases) for phrases in keywords]
    vocabulary = sorted({p for phrases in keywords for p in phrases} | set(also))
    out: dict[int, dict[str, ThemeKeyword]] = {int(c): {} for c in np.unique(clusters)}
    if not vocabulary:
        return out
    column = {p: i for i, p in enumerate(vocabulary)}
    holds = CountVectorizer(vocabulary=vocabulary, analyzer=phrase_analyzer(),
                            binary=True).transform(texts).toarray().astype(bool)
    for row, phrases in enumerate(keywords):  # a keyword is in its request, however it is split
        holds[row, [column[p] for p in phrases]] = True
    epsilon = 1.0 / len(texts)
    overall = holds.mean(axis=0)
    extra = {column[p] for p in also}
    for cluster in out:
        members = clusters == cluster
        own = {column[p] for row in np.flatnonzero(members) for p in keywords[row]}
        candidates = sorted(own | extra)
        share = holds[members][:, candidates].mean(axis=0)
        others = ~members
        elsewhere = holds[others][:, candidates].mean(axis=0) if others.any() else np.zeros(len(candidates))
        score = share * np.log((share + epsilon) / (elsewhere + epsilon)) * (1.0 - overall[candidates])
        out[cluster] = {vocabulary[c]: ThemeKeyword(vocabulary[c], float(share[i]), float(elsewhere[i]),
                                                    float(score[i]), c in own)
                        for i, c in enumerate(candidates)}
    return out


def distinctive(keyword: ThemeKeyword | None) -> bool:
    """Whether a phrase still tells its theme apart: more frequent in it than elsewhere, and not
    common vocabulary elsewhere."""
    return keyword is not None and keyword.score > 0 and keyword.elsewhere <= MAX_SHARE


def best(scores: dict[str, ThemeKeyword], top: int = KEYWORDS_KEPT) -> list[ThemeKeyword]:
    """The `top` most distinctive of a cluster's scored phrases, best first."""
    ranked = sorted((k for k in scores.values() if k.own and distinctive(k)),
                    key=lambda k: (-k.score, -k.share, k.phrase))
    return ranked[:top]


def distinctive_keywords(clusters: np.ndarray, keywords: Sequence[Sequence[str]],
                         texts: Sequence[str], top: int = KEYWORDS_KEPT) -> dict[int, list[ThemeKeyword]]:
    """Per cluster, its `top` most distinctive keywords, best first."""
    return {c: best(scores, top) for c, scores in phrase_scores(clusters, keywords, texts).items()}


def _with_words(phrases: Sequence[str]) -> list[str]:
    """The phrases and the words of the two-word ones (three letters or more)."""
    out = dict.fromkeys(phrases)
    for phrase in phrases:
        out.update(dict.fromkeys(w for w in phrase.split() if len(w) >= 3 and " " in phrase))
    return list(out)


def label_of(phrases: Sequence[str], size: int = LABEL_KEYWORDS) -> list[str]:
    """The phrases a label is made of: the best ones, skipping any that shares a word with a
    phrase already taken."""
    taken: list[str] = []
    words: set[str] = set()
    for phrase in phrases:
        stems = {_stem(w) for w in re.split(r"[\s_-]+", phrase) if w}
        if words & stems:
            continue
        taken.append(phrase)
        words |= stems
        if len(taken) == size:
            break
    return taken


def _stem(word: str) -> str:
    """A crude stem, enough to tell "pod" and "pods", "scheduler" and "scheduling" apart."""
    return (word[:-1] if len(word) > 3 and word.endswith("s") else word)[:STEM_LETTERS]


def label_text(phrases: Sequence[str]) -> str:
    return LABEL_SEPARATOR.join(phrases)


def label_phrases(label: str) -> list[str]:
    return [p for p in label.split(LABEL_SEPARATOR) if p]

"""Themes that last from run to run: new clusters matched to the previous run's themes.

Each night's k-means starts afresh, so its cluster numbers mean nothing from one run to the
next. Every theme found is remembered (`internal.theme_memory`) with the mean of its requests'
document vectors. A run matches its clusters to the remembered themes one to one (the Hungarian
method on the cosine similarity of centroids, both centred as this run's requests are) and a
cluster close enough to a remembered theme takes its id. A matched theme keeps its label while
every phrase of the label still tells the theme apart (more frequent in it than elsewhere, and
not common vocabulary elsewhere), even when other phrases now rank above it: a request arriving
or leaving reshuffles a small theme's keyword ranking, and a name that changes every night is no
name at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from impacting.triage.themes.naming import (
    ThemeKeyword,
    best,
    distinctive,
    label_of,
    label_phrases,
    label_text,
)

# Centroids (centred, unit length) at least this similar are the same theme. The same theme a
# night later scores ~0.99; two neighbouring themes of one run rarely above 0.5.
MIN_MATCH_SIMILARITY = 0.6


@dataclass(frozen=True)
class RememberedTheme:
    theme_id: int
    label: str
    keywords: tuple[str, ...]
    centroid: np.ndarray          # mean document vector of its requests, not centred
    model_id: str
    size: int
    first_seen_at: datetime
    label_since: datetime
    last_seen_at: datetime
    active: bool


def match(new: np.ndarray, previous: np.ndarray, min_similarity: float = MIN_MATCH_SIMILARITY
          ) -> dict[int, int]:
    """{new cluster: previous index} for the one-to-one pairing of unit centroids with the
    highest total similarity, keeping only pairs at least `min_similarity` alike."""
    if not len(new) or not len(previous):
        return {}
    from scipy.optimize import linear_sum_assignment

    similarity = new @ previous.T
    rows, columns = linear_sum_assignment(-similarity)
    return {int(r): int(c) for r, c in zip(rows, columns, strict=True)
            if similarity[r, c] >= min_similarity}


def keep_or_rename(previous_label: str | None, scores: Mapping[str, ThemeKeyword]) -> tuple[str, bool]:
    """(label, whether it is the previous one): the previous label while every phrase of it is
    still distinctive of the theme (`scores`: the theme's scored phrases, the previous label's
    included), else a new label from its best keywords."""
    if previous_label and all(distinctive(scores.get(p)) for p in label_phrases(previous_label)):
        return previous_label, True
    return label_text(label_of([k.phrase for k in best(scores)])) or "(no keywords)", False


def unique_labels(labels: dict[int, str], keywords: dict[int, Sequence[str]],
                  fixed: set[int]) -> dict[int, str]:
    """Labels with duplicates told apart: a theme whose label repeats another's (and is not a
    kept label) takes one more keyword, or a number."""
    out = dict(labels)
    seen: dict[str, int] = {}
    for theme_id in sorted(out, key=lambda t: (t not in fixed, t)):
        label = out[theme_id]
        if label in seen:
            extra = [p for p in keywords.get(theme_id, ()) if p not in label_phrases(label)]
            label = label_text([*label_phrases(label), extra[0]]) if extra else f"{label} ({theme_id})"
            out[theme_id] = label
        seen[label] = theme_id
    return out


def retire(themes: Sequence[RememberedTheme], kept: set[int]) -> list[RememberedTheme]:
    """The remembered themes this run did not find, marked inactive."""
    return [replace(t, active=False) for t in themes if t.theme_id not in kept]

"""Portfolio themes: what the department is asked to do, found by clustering every request.

:func:`find_themes` takes the requests (past projects and requests awaiting triage, each with
its document vector, keywords and words), the previous run's themes and the settings, and
returns the rows of `themes`, `project_themes`, `theme_trends`, `theme_selection` and the
theme memory. Nothing here reads the warehouse (`triage.themes.store` does) or draws
(`triage.themes.charts`), so the evaluation runs exactly this on a benchmark file.

The vectors are the triage corpus's document vectors (the mean of a request's title and prose
sentence vectors, template sentences left out), centred on their mean and scaled to unit length
exactly as the similar-project search does: every design document shares a "this is a design
document" direction that says nothing about its topic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from impacting.settings import ThemeSettings
from impacting.triage.similar import centre
from impacting.triage.themes.naming import ThemeKeyword, best, label_phrases, phrase_scores
from impacting.triage.themes.selection import (
    KChoice,
    choose,
    k_range,
    kmeans,
    kmeans_from,
    scan,
    silhouette,
)
from impacting.triage.themes.tracking import (
    RememberedTheme,
    keep_or_rename,
    match,
    retire,
    unique_labels,
)
from impacting.warehouse.tables import PROJECT_THEMES, THEME_MEMORY, THEME_SELECTION, THEME_TRENDS, THEMES

TOP_TEAMS = 3


@dataclass(frozen=True)
class ThemeRequest:
    """A request as themes see it."""

    key: str
    title: str
    created_at: datetime | None
    keywords: tuple[str, ...]       # its documents' keyword phrases
    text: str                       # its words (title, description, documents)
    teams: tuple[str, ...] = ()
    is_past: bool = False
    awaiting_triage: bool = False


@dataclass
class ThemeResult:
    """Everything one clustering produced, as table rows, and what a person should know."""

    choice: KChoice | None
    themes: pd.DataFrame
    project_themes: pd.DataFrame
    trends: pd.DataFrame
    selection: pd.DataFrame
    memory: pd.DataFrame
    notes: list[str]

    @property
    def frames(self) -> dict:
        return {THEMES: self.themes, PROJECT_THEMES: self.project_themes, THEME_TRENDS: self.trends,
                THEME_SELECTION: self.selection, THEME_MEMORY: self.memory}

    def labels(self) -> dict[int, str]:
        return dict(zip(self.themes["theme_id"], self.themes["label"], strict=True))


def find_themes(requests: Sequence[ThemeRequest], vectors: np.ndarray, settings: ThemeSettings,
                previous: Sequence[RememberedTheme] = (), model_id: str = "",
                now: datetime | None = None) -> ThemeResult:
    """Cluster `requests` (one row of `vectors` each, not centred) into themes, choose k, name
    the themes and keep the previous run's ids and labels where the themes are the same."""
    now = now or datetime.now(UTC)
    notes: list[str] = []
    has_words = np.linalg.norm(vectors, axis=1) > 0 if len(vectors) else np.zeros(0, bool)
    if (~has_words).any():
        empty = [r.key for r, ok in zip(requests, has_words, strict=True) if not ok]
        notes.append(f"{len(empty)} request(s) have no words to cluster by and belong to no theme: "
                     f"{', '.join(empty)}")
    requests = [r for r, ok in zip(requests, has_words, strict=True) if ok]
    vectors = vectors[has_words] if len(vectors) else vectors
    comparable = [t for t in previous if t.model_id == model_id and t.centroid.shape == vectors.shape[1:]]
    if len(comparable) < len(previous):
        notes.append("the embedding model changed since the themes were last found: themes get new "
                     "ids and labels this once")
    memory = list(previous)  # every theme ever found: ids are never reused
    if len(requests) < 2:
        notes.append("fewer than two requests with words: no themes")
        return ThemeResult(None, _empty(THEMES), _empty(PROJECT_THEMES), _empty(THEME_TRENDS),
                           _empty(THEME_SELECTION), _memory_rows(retire(memory, set())), notes)

    mean = vectors.mean(axis=0)
    centred = centre(vectors, mean)
    ks = k_range(len(requests), settings.k_min, settings.k_max)
    scanned = scan(centred, ks, settings.seed)
    active = [t for t in comparable if t.active]
    choice = choose([point for _, point in scanned.values()], settings.k_method, settings.k,
                    len(active) or None)
    clustering = scanned[choice.k][0] if choice.k in scanned else \
        kmeans(centred, min(choice.k, len(requests)), settings.seed)
    if active:  # start from last night's themes, biggest first
        ordered = sorted(active, key=lambda t: (-t.size, t.theme_id))
        clustering = kmeans_from(centred, centre(np.vstack([t.centroid for t in ordered]), mean),
                                 clustering, settings.seed)
    clusters = clustering.labels
    k = clustering.k

    raw_centroids = np.vstack([vectors[clusters == c].mean(axis=0) for c in range(k)])
    centroids = centre(raw_centroids, mean)
    similarity = centred @ centroids.T
    order = np.argsort(-similarity, axis=1)
    per_request = silhouette(centred, clusters, settings.seed, per_request=True)
    # Ids: matched to the remembered themes, the rest new.
    pairs = match(centroids, centre(np.vstack([t.centroid for t in active]), mean)) if active else {}
    scores = phrase_scores(clusters, [r.keywords for r in requests], [r.text for r in requests],
                           also=sorted({p for t in active for p in label_phrases(t.label)}))
    keywords = {cluster: best(found) for cluster, found in scores.items()}
    next_id = max((t.theme_id for t in memory), default=0) + 1
    ids, labels, kept_label = {}, {}, set()
    for cluster in range(k):
        if cluster in pairs:
            old = active[pairs[cluster]]
            ids[cluster] = old.theme_id
            labels[old.theme_id], same = keep_or_rename(old.label, scores.get(cluster, {}))
            if same:
                kept_label.add(old.theme_id)
        else:
            ids[cluster] = next_id
            next_id += 1
            labels[ids[cluster]], _ = keep_or_rename(None, scores.get(cluster, {}))
    labels = unique_labels(labels, {ids[c]: [kw.phrase for kw in keywords.get(c, [])] for c in range(k)},
                           kept_label)
    remembered = {t.theme_id: t for t in memory}

    theme_rows, new_memory = [], []
    for cluster in range(k):
        theme_id = ids[cluster]
        members = np.flatnonzero(clusters == cluster)
        old = remembered.get(theme_id)
        label_since = old.label_since if old is not None and theme_id in kept_label else now
        first_seen = old.first_seen_at if old is not None else now
        theme_rows.append(_theme_row(theme_id, labels[theme_id], keywords.get(cluster, []),
                                     [requests[i] for i in members], members, similarity[:, cluster],
                                     per_request, first_seen, label_since, now))
        new_memory.append(RememberedTheme(
            theme_id, labels[theme_id], tuple(kw.phrase for kw in keywords.get(cluster, [])),
            raw_centroids[cluster].astype(np.float32), model_id, len(members), first_seen,
            label_since, now, True))
    memory_rows = _memory_rows([*new_memory, *retire(memory, set(ids.values()))])

    project_rows = []
    for i, request in enumerate(requests):
        # The runner-up: the nearest centroid other than its own.
        second = next((int(c) for c in order[i] if c != clusters[i]), None)
        project_rows.append({
            "request_key": request.key, "theme_id": ids[int(clusters[i])],
            "theme_label": labels[ids[int(clusters[i])]],
            "distance": float(1.0 - similarity[i, int(clusters[i])]),
            "silhouette": None if per_request is None else float(per_request[i]),
            "second_theme_id": ids[second] if second is not None else None,
            "second_distance": float(1.0 - similarity[i, second]) if second is not None else None,
        })
    themes = pd.DataFrame(theme_rows, columns=list(THEMES.column_names)).sort_values(
        ["size", "theme_id"], ascending=[False, True], ignore_index=True)
    return ThemeResult(
        choice, themes,
        pd.DataFrame(project_rows, columns=list(PROJECT_THEMES.column_names)),
        trends([r.created_at for r in requests], [ids[int(c)] for c in clusters]),
        pd.DataFrame(choice.rows(), columns=list(THEME_SELECTION.column_names)),
        memory_rows, notes)


def _theme_row(theme_id: int, label: str, keywords: list[ThemeKeyword], members: list[ThemeRequest],
               positions: np.ndarray, similarity: np.ndarray, per_request, first_seen: datetime,
               label_since: datetime, now: datetime) -> dict:
    created = sorted(pd.Timestamp(r.created_at) for r in members if r.created_at is not None)
    teams = Counter(t for r in members if r.is_past for t in r.teams)
    closest = members[int(np.argmax(similarity[positions]))]
    return {
        "theme_id": theme_id, "label": label,
        "keywords": [kw.phrase for kw in keywords], "keyword_shares": [kw.share for kw in keywords],
        "size": len(members), "past_projects": sum(r.is_past for r in members),
        "awaiting_triage": sum(r.awaiting_triage for r in members),
        "top_teams": [t for t, _ in sorted(teams.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TEAMS]],
        "first_created_at": created[0] if created else None,
        "median_created_at": created[(len(created) - 1) // 2] if created else None,
        "last_created_at": created[-1] if created else None,
        "representative_key": closest.key, "representative_title": closest.title,
        "cohesion": None if per_request is None else float(np.mean(per_request[positions])),
        "first_seen_at": first_seen, "label_since": label_since, "clustered_at": now,
    }


def trends(created: Sequence[datetime | None], theme_ids: Sequence[int]) -> pd.DataFrame:
    """`theme_trends`: requests created per theme and quarter, every quarter from the first
    request to the last, zeros included."""
    frame = pd.DataFrame({"created": pd.to_datetime(list(created), utc=True), "theme_id": list(theme_ids)})
    frame = frame.dropna(subset=["created"])
    if not len(frame):
        return _empty(THEME_TRENDS)
    quarter = frame["created"].dt.tz_localize(None).dt.to_period("Q")
    frame = frame.assign(quarter=quarter)
    quarters = pd.period_range(quarter.min(), quarter.max(), freq="Q")
    counts = frame.groupby(["theme_id", "quarter"]).size()
    totals = frame.groupby("quarter").size()
    rows = []
    for theme_id in sorted(set(frame["theme_id"])):
        for q in quarters:
            total = int(totals.get(q, 0))
            n = int(counts.get((theme_id, q), 0))
            rows.append({"theme_id": theme_id, "quarter": f"{q.year}-Q{q.quarter}",
                         "quarter_start": q.start_time.date(), "requests_created": n,
                         "share_of_quarter": n / total if total else None})
    return pd.DataFrame(rows, columns=list(THEME_TRENDS.column_names))


def _memory_rows(themes: Sequence[RememberedTheme]) -> pd.DataFrame:
    return pd.DataFrame([{
        "theme_id": t.theme_id, "label": t.label, "keywords": list(t.keywords),
        "centroid": t.centroid.astype(float).tolist(), "model_id": t.model_id, "size": t.size,
        "first_seen_at": t.first_seen_at, "label_since": t.label_since, "last_seen_at": t.last_seen_at,
        "active": t.active} for t in sorted(themes, key=lambda t: t.theme_id)],
        columns=list(THEME_MEMORY.column_names))


def remembered_from_rows(rows: pd.DataFrame) -> list[RememberedTheme]:
    """`internal.theme_memory` rows → the themes to match against."""
    return [RememberedTheme(int(r.theme_id), r.label, tuple(r.keywords if r.keywords is not None else ()),
                            np.asarray(r.centroid, dtype=np.float32), r.model_id, int(r.size),
                            _utc(r.first_seen_at), _utc(r.label_since), _utc(r.last_seen_at), bool(r.active))
            for r in rows.itertuples(index=False)]


def _utc(value) -> datetime:
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)).to_pydatetime()


def _empty(declared) -> pd.DataFrame:
    return pd.DataFrame(columns=list(declared.column_names))

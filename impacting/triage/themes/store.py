"""Portfolio themes and the warehouse: what a run clusters, and where the themes are kept.

:func:`theme_requests` reads every request of the triage corpus (past projects and requests
awaiting triage, once each) with its document vector from the embedding cache, template
sentences left out as the similar-project search leaves them out, its documents' keywords and
its words. :func:`write_themes` stores a :class:`ThemeResult`.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from impacting.language.encoder import EmbeddingCache
from impacting.triage.corpus import Corpus
from impacting.triage.history import AWAITING, PAST, corpus_requests, load_corpus, load_template
from impacting.triage.themes.portfolio import ThemeRequest, ThemeResult, remembered_from_rows
from impacting.triage.themes.tracking import RememberedTheme
from impacting.warehouse.store import read_table, replace_rows
from impacting.warehouse.tables import KEYWORDS, PROJECT_THEMES, THEME_MEMORY, THEMES


def theme_requests(con: duckdb.DuckDBPyConnection, cache: EmbeddingCache
                   ) -> tuple[list[ThemeRequest], np.ndarray]:
    """Every request of the triage corpus, once, as themes see it, and its document vector."""
    past, waiting = load_corpus(con, cache, PAST), load_corpus(con, cache, AWAITING)
    # A request can be both (feedback confirmed teams before Jira's field has them): once is enough.
    waiting = waiting.subset([i for i, key in enumerate(waiting.keys) if past.position(key) is None])
    corpus = Corpus.concat([past, waiting]).without(load_template(con))
    rows = pd.concat([corpus_requests(con, PAST), corpus_requests(con, AWAITING)]).drop_duplicates("key")
    details = {r.key: r for r in rows.itertuples(index=False)}
    phrases: dict[str, list[str]] = {}
    for key, phrase in con.execute(f"SELECT project_key, phrase FROM {KEYWORDS.qualified} "
                                   "ORDER BY project_key, document_id, rank").fetchall():
        phrases.setdefault(key, []).append(phrase)
    requests = []
    for i, request in enumerate(corpus.requests):
        row = details[request.key]
        requests.append(ThemeRequest(
            request.key, request.title, None if pd.isna(row.created_at) else row.created_at.to_pydatetime(),
            tuple(dict.fromkeys(phrases.get(request.key, ()))), corpus.lexical[i], tuple(row.teams),
            bool(row.is_past), bool(row.awaiting_triage)))
    return requests, corpus.vectors


def remembered_themes(con: duckdb.DuckDBPyConnection) -> list[RememberedTheme]:
    return remembered_from_rows(read_table(con, THEME_MEMORY))


def write_themes(con: duckdb.DuckDBPyConnection, result: ThemeResult) -> None:
    for declared, frame in result.frames.items():
        replace_rows(con, declared, frame)


def theme_of_request(con: duckdb.DuckDBPyConnection, key: str) -> dict | None:
    """The theme of request `key` for its brief: the `project_themes` row joined with its
    `themes` row (label, keywords, size, representative request), or None when it has none."""
    row = con.execute(
        f"SELECT p.request_key, p.theme_id, t.label, p.distance, p.silhouette, t.keywords, t.size, "
        f"t.representative_key, t.representative_title, t.top_teams "
        f"FROM {PROJECT_THEMES.qualified} p JOIN {THEMES.qualified} t USING (theme_id) "
        f"WHERE p.request_key = ?", [key]).fetchone()
    if row is None:
        return None
    names = ("request_key", "theme_id", "label", "distance", "silhouette", "keywords", "size",
             "representative_key", "representative_title", "top_teams")
    return dict(zip(names, row, strict=True))

"""What the learned ranking of similar projects looks at: one feature row per (request, candidate).

Candidates are the fixed fusion's best `CANDIDATES` past projects for a request (the learned
ranking reorders them; a past project outside them keeps its fused order below). The signals:

- the two halves of the fused score (lexical, passage pairs), as they are and relative to the
  request's best candidate, and the candidate's rank under each;
- shared teams: how much the teams of the candidate agree with the teams of the request's other
  close neighbours (a request awaiting triage has no teams yet);
- the same key prefix (a Jira project), a mention of one's key in the other's words, the same
  reporter or assignee;
- the time between the two, both documents' lengths;
- the history's links: how often the candidate was linked before, and whether it is linked to
  one of the request's closest neighbours.

Links of the request itself are never read (they are what is predicted), nor links that could
not have existed when the request was created (both ends must be older): the ranking learns and
is measured on the history as it stood for each request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from impacting.triage.corpus import Corpus
from impacting.triage.teams.priors import key_prefix

CANDIDATES = 100          # the fused ranking's best, per request, that the model reorders
NEIGHBOURS = 10           # close neighbours whose teams and links describe a request
FEATURES = (
    "lexical", "semantic", "fused", "lexical_gap", "semantic_gap", "fused_gap",
    "lexical_rank", "semantic_rank", "fused_rank", "team_agreement", "same_prefix", "mention",
    "same_person", "log_days_apart", "log_words_request", "log_words_candidate",
    "log_candidate_links", "linked_to_neighbours",
)
# "KEP-555", "TIMOB-1234"; and KEP folder names such as "555-server-side-apply".
_ISSUE_KEY = re.compile(r"\b([A-Za-z][A-Za-z0-9]*-\d+)(?![\d])")
_NUMBERED_SLUG = re.compile(r"(?<![\w-])(\d+-[a-z0-9]+(?:-[a-z0-9]+)*)")


@dataclass(frozen=True)
class PairFrame:
    """Feature rows for (query, candidate) pairs, and which pool project each row is."""

    query: np.ndarray        # (rows,) query positions
    candidate: np.ndarray    # (rows,) pool positions
    features: np.ndarray     # (rows, len(FEATURES)) float32
    fused: np.ndarray        # (rows,) the fixed fusion's score (its order breaks ties)


def key_forms(key: str) -> set[str]:
    """How a text may name request `key`: the key itself and, for keys like `KEP-555-name`,
    `KEP-555` and `555-name` (upper-cased, as :func:`references` returns them)."""
    forms = {key.upper()}
    match = re.match(r"^([A-Za-z][A-Za-z0-9]*)-(\d+)(?:-(.+))?$", key)
    if match:
        forms.add(f"{match.group(1)}-{match.group(2)}".upper())
        if match.group(3):
            forms.add(f"{match.group(2)}-{match.group(3)}".upper())
    return forms


def references(text: str) -> set[str]:
    """Key-like names a text mentions, upper-cased."""
    return {m.upper() for m in _ISSUE_KEY.findall(text)} | \
        {m.upper() for m in _NUMBERED_SLUG.findall(text)}


def _day(created: str | None) -> float:
    if not created:
        return np.nan
    try:
        return float(date.fromisoformat(created[:10]).toordinal())
    except ValueError:
        return np.nan


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each column within its row (1 = highest)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, scores.shape[1] + 1)[None, :], axis=1)
    return ranks


def link_graph(pool: Corpus, known: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
    """Undirected links among the pool's projects as the history records them (the links of
    the requests in `known`, default all of the pool): for each project, its linked projects and
    the date from which the link could exist (the later of the two creation dates; "" when
    either is undated)."""
    keys = set(pool.keys)
    known = keys if known is None else set(known)
    created = {r.key: r.created or "" for r in pool.requests}
    graph: dict[str, dict[str, str]] = {}
    for request in pool.requests:
        if request.key not in known:
            continue
        for other in request.links:
            if other in keys and other != request.key:
                since = "" if not (created[request.key] and created[other]) else \
                    max(created[request.key], created[other])
                graph.setdefault(request.key, {})[other] = since
                graph.setdefault(other, {})[request.key] = since
    return graph


def _links_before(graph: Mapping[str, Mapping[str, str]], key: str, query: str, when: str | None
                  ) -> set[str]:
    """`key`'s links known when a request created at `when` arrives, never one to `query`."""
    links = graph.get(key, {})
    return {other for other, since in links.items()
            if other != query and (not when or not since or since <= when)}


def pair_features(queries: Corpus, pool: Corpus, lexical: np.ndarray, semantic: np.ndarray,
                  lexical_weight: float, history_links: Mapping[str, Mapping[str, str]],
                  texts: Sequence[str] | None = None, pool_texts: Sequence[str] | None = None,
                  people: Mapping[str, frozenset[str]] | None = None,
                  candidates: int = CANDIDATES,
                  exclude: Sequence[Iterable[str]] | None = None) -> PairFrame:
    """Feature rows for each query's best `candidates` pool projects by the fixed fusion.

    `texts`/`pool_texts`: the words mentions are looked for in (default: the corpora's lexical
    text); `people`: reporter and assignee by key, where known. A query is never its own
    candidate; `exclude` names more keys per query to skip."""
    pool_index = {key: j for j, key in enumerate(pool.keys)}
    # The query itself and excluded projects are no candidates, and count in no rank or gap.
    lexical, semantic = lexical.astype(np.float32).copy(), semantic.astype(np.float32).copy()
    for i, request in enumerate(queries.requests):
        skip = [pool_index[key] for key in (request.key, *(exclude[i] if exclude is not None else ()))
                if key in pool_index]
        lexical[i, skip] = -1.0
        semantic[i, skip] = -1.0
    fused = lexical_weight * lexical + (1 - lexical_weight) * semantic
    n_pool = len(pool)
    k = min(candidates, max(n_pool - 1, 0)) if n_pool else 0
    if not len(queries) or k <= 0:
        empty = np.zeros(0, dtype=int)
        return PairFrame(empty, empty, np.zeros((0, len(FEATURES)), np.float32), np.zeros(0, np.float32))
    picked = np.argsort(-fused, axis=1, kind="stable")[:, :k]
    lexical_rank, semantic_rank, fused_rank = _ranks(lexical), _ranks(semantic), _ranks(fused)

    teams = sorted({t for r in pool.requests for t in r.teams})
    team_index = {t: j for j, t in enumerate(teams)}
    labels = np.zeros((n_pool, max(len(teams), 1)), np.float32)
    for j, request in enumerate(pool.requests):
        for team in request.teams:
            labels[j, team_index[team]] = 1.0
    label_norm = np.maximum(labels.sum(axis=1), 1.0)

    texts = list(queries.lexical) if texts is None else list(texts)
    pool_texts = list(pool.lexical) if pool_texts is None else list(pool_texts)
    pool_forms = [key_forms(key) for key in pool.keys]
    query_forms = [key_forms(key) for key in queries.keys]
    pool_refs = [references(t) for t in pool_texts]
    query_days = np.array([_day(r.created) for r in queries.requests])
    pool_days = np.array([_day(r.created) for r in pool.requests])
    pool_words = np.log1p([len(t.split()) for t in pool.lexical])
    pool_prefix = [key_prefix(key) for key in pool.keys]
    people = people or {}

    rows_q, rows_c, rows = [], [], []
    for i, request in enumerate(queries.requests):
        cands = picked[i]
        scores = fused[i, cands]
        valid = scores > -1.0
        cands = cands[valid]
        if not len(cands):
            continue
        neighbours = cands[:NEIGHBOURS]
        weights = np.clip(fused[i, neighbours], 0, None) ** 2
        vote = weights @ labels[neighbours]
        total = weights.sum()
        # Team agreement leaves the candidate's own vote out: it says whether the *other* close
        # projects worked with the candidate's teams.
        in_top = np.isin(cands, neighbours)
        own = np.where(in_top, np.clip(fused[i, cands], 0, None) ** 2, 0.0)
        others = vote[None, :] - own[:, None] * labels[cands]
        others_total = np.maximum(total - own, 1e-9)
        agreement = (others * labels[cands]).sum(axis=1) / label_norm[cands] / others_total
        agreement = np.where(total - own > 1e-9, agreement, 0.0)

        best_lexical, best_semantic = lexical[i].max(), semantic[i].max()
        refs = references(texts[i])
        query_people = people.get(request.key, frozenset())
        neighbour_keys = [pool.keys[n] for n in neighbours]
        for c, agree in zip(cands, agreement, strict=True):
            key = pool.keys[c]
            mention = bool(refs & pool_forms[c]) or bool(pool_refs[c] & query_forms[i])
            linked = _links_before(history_links, key, request.key, request.created)
            linked_near = sum(float(np.clip(fused[i, pool_index[n]], 0, None))
                              for n in neighbour_keys if n != key and n in linked)
            days = abs(query_days[i] - pool_days[c])
            candidate_people = people.get(key, frozenset())
            rows.append((
                lexical[i, c], semantic[i, c], fused[i, c],
                lexical[i, c] - best_lexical, semantic[i, c] - best_semantic,
                fused[i, c] - fused[i, cands[0]],
                np.log(lexical_rank[i, c]), np.log(semantic_rank[i, c]), np.log(fused_rank[i, c]),
                agree, float(pool_prefix[c] == key_prefix(request.key) and pool_prefix[c] != ""),
                float(mention), float(bool(query_people & candidate_people)),
                np.log1p(days) if np.isfinite(days) else -1.0,
                np.log1p(len(queries.lexical[i].split())), pool_words[c],
                np.log1p(len(linked)), linked_near,
            ))
            rows_q.append(i)
            rows_c.append(c)
    return PairFrame(np.array(rows_q, dtype=int), np.array(rows_c, dtype=int),
                     np.asarray(rows, dtype=np.float32).reshape(-1, len(FEATURES)),
                     fused[np.array(rows_q, dtype=int), np.array(rows_c, dtype=int)].astype(np.float32))

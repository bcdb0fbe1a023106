"""Training pairs the history gives for free, for fine-tuning the encoder contrastively.

Three kinds, each an (anchor, positive) pair of texts that should lie close together:

- ``title_body``: a request's title and a stretch of its own body;
- ``linked``: stretches of two requests linked to each other;
- ``same_team``: stretches of two requests that share their owner team (or, without owners,
  their first team).

Only requests created before a cut-off date give pairs, and a link counts only when both ends
are before it, so nothing from the period a tuned model is judged on leaks into its training.
Batches hold pairs of one kind, never the same request twice, and (``same_team``) never two
pairs of the same team: with in-batch negatives another pair of the same team would be a false
negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from impacting.triage.corpus import Corpus

TITLE_BODY, LINKED, SAME_TEAM = "title_body", "linked", "same_team"
KINDS = (TITLE_BODY, LINKED, SAME_TEAM)


@dataclass(frozen=True)
class Pair:
    anchor: str
    positive: str
    kind: str
    keys: tuple[str, str]      # the requests the two texts come from
    team: str | None = None    # the shared team (same_team pairs)


def stretches(passages: Sequence[str], words: int, most: int) -> list[str]:
    """Up to `most` runs of consecutive passages, each about `words` words, spread evenly over
    the document (a design document's parts say different things; its start is often
    boilerplate)."""
    if not passages:
        return []
    runs: list[str] = []
    current: list[str] = []
    count = 0
    for passage in passages:
        current.append(passage)
        count += len(passage.split())
        if count >= words:
            runs.append(" ".join(current))
            current, count = [], 0
    if current and (count >= words // 3 or not runs):
        runs.append(" ".join(current))
    if len(runs) <= most:
        return runs
    picked = np.linspace(0, len(runs) - 1, most).round().astype(int)
    return [runs[i] for i in dict.fromkeys(picked)]


def _team_of(request) -> str | None:
    return request.owner_team or (request.teams[0] if request.teams else None)


def history_pairs(corpus: Corpus, before: str | None = None, *, words: int = 60,
                  stretches_per_request: int = 3, title_pairs_per_request: int = 1,
                  team_pairs_per_request: int = 3, seed: int = 0) -> list[Pair]:
    """Pairs from the requests of `corpus` created before `before` (ISO date; None: all dated
    and undated requests). Template sentences should already be out of `corpus`
    (:meth:`Corpus.without`)."""
    rng = np.random.default_rng(seed)
    kept = [i for i, r in enumerate(corpus.requests)
            if before is None or (r.created is not None and r.created < before)]
    texts = {corpus.requests[i].key: stretches([c.text for c in corpus.passages[i]], words,
                                               stretches_per_request) for i in kept}
    requests = {corpus.requests[i].key: corpus.requests[i] for i in kept}
    pairs: list[Pair] = []
    for key, request in requests.items():
        title = request.title.strip()
        if title and texts[key]:
            picked = rng.permutation(len(texts[key]))[:title_pairs_per_request]
            pairs += [Pair(title, texts[key][k], TITLE_BODY, (key, key)) for k in sorted(picked)]

    seen_links: set[frozenset[str]] = set()
    for key, request in requests.items():
        for other in request.links:
            link = frozenset((key, other))
            if other == key or other not in requests or link in seen_links:
                continue
            seen_links.add(link)
            mine, theirs = texts[key], texts[other]
            for k in range(min(len(mine), len(theirs))):
                pairs.append(Pair(mine[k], theirs[(k + 1) % len(theirs)], LINKED, (key, other)))

    by_team: dict[str, list[str]] = {}
    for key, request in requests.items():
        team = _team_of(request)
        if team is not None and texts[key]:
            by_team.setdefault(team, []).append(key)
    for team, keys in sorted(by_team.items()):
        if len(keys) < 2:
            continue
        for key in keys:
            for _ in range(team_pairs_per_request):
                other = keys[int(rng.integers(len(keys)))]
                if other == key:
                    continue
                mine, theirs = texts[key], texts[other]
                pairs.append(Pair(mine[int(rng.integers(len(mine)))],
                                  theirs[int(rng.integers(len(theirs)))], SAME_TEAM, (key, other), team))
    return pairs


def pair_batches(pairs: Sequence[Pair], batch_size: int, seed: int = 0) -> list[list[Pair]]:
    """Shuffled batches of one kind each, with no request twice in a batch and no team twice in
    a `same_team` batch; batches of fewer than two pairs are dropped (no negative to learn
    from)."""
    rng = np.random.default_rng(seed)
    batches: list[list[Pair]] = []
    for kind in KINDS:
        waiting = [p for p in pairs if p.kind == kind]
        order = rng.permutation(len(waiting))
        waiting = [waiting[i] for i in order]
        while waiting:
            batch: list[Pair] = []
            used_keys: set[str] = set()
            used_teams: set[str] = set()
            left: list[Pair] = []
            for pair in waiting:
                clash = used_keys & set(pair.keys) or (pair.team is not None and pair.team in used_teams)
                if len(batch) >= batch_size or clash:
                    left.append(pair)
                    continue
                batch.append(pair)
                used_keys.update(pair.keys)
                if pair.team is not None:
                    used_teams.add(pair.team)
            if len(batch) >= 2:
                batches.append(batch)
            if len(left) == len(waiting) or len(batch) < 2:
                break  # what is left cannot make a batch with a negative
            waiting = left
    return [batches[i] for i in rng.permutation(len(batches))]

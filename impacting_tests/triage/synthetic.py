"""Small synthetic corpora for testing the team model's mechanics quickly (no encoder).

Each team has a direction in vector space and its own words; a request's vector and words mix
those of its teams with noise. Real-model behaviour is tested elsewhere on real text.
"""

from __future__ import annotations

import zlib

import numpy as np

from impacting.triage.corpus import Corpus, Request

DIM = 16


def synthetic_corpus(team_sets: list[tuple[str, ...]], seed: int = 0, noise: float = 0.6,
                     start_year: int = 2020) -> Corpus:
    rng = np.random.default_rng(seed)
    teams = sorted({t for ts in team_sets for t in ts})
    # A team's direction depends on its name only, so separate corpora share it.
    centroids = {t: np.random.default_rng(zlib.crc32(t.encode())).normal(size=DIM) for t in teams}
    requests, vectors, lexical = [], [], []
    for i, ts in enumerate(team_sets):
        vector = sum(centroids[t] for t in ts) + noise * rng.normal(size=DIM) * np.sqrt(len(ts))
        vectors.append(vector / np.linalg.norm(vector))
        words = [f"{t.replace('-', '')}word{rng.integers(3)}" for t in ts for _ in range(3)]
        words += [f"common{rng.integers(20)}" for _ in range(6)]
        lexical.append(" ".join(words))
        created = f"{start_year + i // 120}-{1 + (i // 10) % 12:02d}-{1 + i % 10:02d}"
        requests.append(Request(f"R-{i}", f"request {i}", " ".join(words), tuple(ts), created))
    return Corpus(requests, [[] for _ in requests],
                  [np.zeros((0, DIM), dtype=np.float32) for _ in requests],
                  np.asarray(vectors, dtype=np.float32), lexical)


def team_sets(n: int, teams: list[str], seed: int = 1) -> list[tuple[str, ...]]:
    """`n` requests, each with one team and sometimes a second one."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        first = teams[rng.integers(len(teams))]
        second = teams[rng.integers(len(teams))]
        out.append((first,) if rng.random() < 0.7 or second == first else (first, second))
    return out

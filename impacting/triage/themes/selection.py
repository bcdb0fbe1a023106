"""How many themes: k-means for every k in a range, the elbow and the silhouette, and the choice.

For each k the requests' centred unit vectors are clustered with scikit-learn's k-means (several
starts, a fixed seed) and two curves are recorded:

- **inertia**, the sum of squared distances to the nearest centroid. It always falls as k grows;
  its *elbow* is found with Kneedle (Satopää et al. 2011, the `kneed` package): both axes scaled
  to 0..1, the knee is the k farthest below the straight line from the first point to the last,
  the point after which more themes buy little;
- the mean **silhouette** (Rousseeuw 1987): for each request, how much closer it is to its own
  theme than to the next one (-1..1); its highest point is the best-separated k.

Either can choose (`themes.k_method`), or a fixed k (`themes.k`). To keep themes steady from one
night to the next, the previous run's k is kept while its score on the chosen curve stays within
a small tolerance of the best k's (one new request rarely moves a curve by more), and k-means
also starts from the previous run's centroids (:func:`kmeans_from`): that solution is kept
unless a fresh start finds one clearly tighter. k-means has many local optima of nearly equal
inertia on document vectors, and a fresh start may land in another one when a single request
arrives, reshuffling themes for no reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ELBOW, SILHOUETTE, FIXED, KEPT = "elbow", "silhouette", "fixed", "kept"
# Starts of k-means per k: the best of them (lowest inertia) is kept.
N_INIT = 10
# Silhouettes are computed on at most this many requests (a random sample beyond), which keeps
# a large portfolio's k scan to seconds; the sample is seeded like k-means.
SILHOUETTE_SAMPLE = 4000
# The previous run's k stays while its score is within this much of the best (the silhouette
# itself, or Kneedle's 0..1 distance below the chord for the elbow).
KEEP_TOLERANCE = {SILHOUETTE: 0.005, ELBOW: 0.05}
# The clustering started from the previous run's centroids is kept unless a fresh start's
# inertia is lower by more than this share.
WARM_TOLERANCE = 0.02


@dataclass(frozen=True)
class Clustering:
    """One k-means result: each request's cluster (0..k-1), the centroids and the inertia."""

    k: int
    labels: np.ndarray
    centroids: np.ndarray
    inertia: float


@dataclass(frozen=True)
class KPoint:
    k: int
    inertia: float
    silhouette: float | None


@dataclass
class KChoice:
    """The curves, what each method suggests, the k used and why."""

    points: list[KPoint]
    elbow_k: int | None
    silhouette_k: int | None
    k: int
    method: str
    note: str
    knee_distance: dict[int, float] = field(default_factory=dict)

    def rows(self) -> list[dict]:
        """`theme_selection` rows."""
        return [{"k": p.k, "inertia": p.inertia, "silhouette": p.silhouette,
                 "is_elbow": p.k == self.elbow_k, "is_best_silhouette": p.k == self.silhouette_k,
                 "is_chosen": p.k == self.k, "method": self.method if p.k == self.k else None,
                 "note": self.note if p.k == self.k else None} for p in self.points]


def k_range(n: int, k_min: int, k_max: int) -> list[int]:
    """The ks worth trying for `n` requests: `k_min`..`k_max`, at most a fifth of the requests
    (a theme of fewer than five requests on average says little) and below `n`."""
    top = min(k_max, max(n // 5, k_min), n - 1)
    return list(range(k_min, top + 1))


def kmeans(vectors: np.ndarray, k: int, seed: int) -> Clustering:
    from sklearn.cluster import KMeans

    rows = vectors.shape[0]
    if k <= 1 or rows <= 1:
        centroid = np.asarray(vectors.mean(axis=0)).reshape(1, -1)
        spread = vectors - centroid if isinstance(vectors, np.ndarray) else vectors.toarray() - centroid
        return Clustering(1, np.zeros(rows, dtype=np.int64), centroid, float((spread ** 2).sum()))
    model = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit(vectors)
    return Clustering(k, model.labels_.astype(np.int64), model.cluster_centers_, float(model.inertia_))


def kmeans_from(vectors: np.ndarray, starts: np.ndarray, fresh: Clustering, seed: int) -> Clustering:
    """k-means with `fresh.k` clusters started from `starts` (the previous run's centroids in this
    run's space, most requests first): the first k of them, and when there are fewer, the
    requests farthest from them. Returns that clustering unless `fresh` (the best of several
    random starts) is tighter by more than `WARM_TOLERANCE`."""
    from sklearn.cluster import KMeans

    k = fresh.k
    if k <= 1 or not len(starts):
        return fresh
    scale = float(np.mean(np.linalg.norm(fresh.centroids, axis=1)))
    init = [c * scale for c in starts[:k]]
    while len(init) < k:
        nearest = np.min(((vectors[:, None, :] - np.asarray(init)[None, :, :]) ** 2).sum(axis=2), axis=1)
        init.append(vectors[int(np.argmax(nearest))])
    model = KMeans(n_clusters=k, init=np.asarray(init), n_init=1, random_state=seed).fit(vectors)
    if model.inertia_ > fresh.inertia * (1 + WARM_TOLERANCE):
        return fresh
    return Clustering(k, model.labels_.astype(np.int64), model.cluster_centers_, float(model.inertia_))


def silhouette(vectors: np.ndarray, labels: np.ndarray, seed: int, per_request: bool = False):
    """The mean silhouette (or each request's, with `per_request`); None for a single cluster."""
    from sklearn.metrics import silhouette_samples, silhouette_score

    rows = vectors.shape[0]
    if len(set(labels.tolist())) < 2 or len(set(labels.tolist())) >= rows:
        return None
    if per_request:
        return silhouette_samples(vectors, labels)
    sample = SILHOUETTE_SAMPLE if rows > SILHOUETTE_SAMPLE else None
    return float(silhouette_score(vectors, labels, sample_size=sample, random_state=seed))


def scan(vectors: np.ndarray, ks: list[int], seed: int) -> dict[int, tuple[Clustering, KPoint]]:
    """k-means and its silhouette for every k in `ks`."""
    out = {}
    for k in ks:
        clustering = kmeans(vectors, k, seed)
        out[k] = (clustering, KPoint(k, clustering.inertia, silhouette(vectors, clustering.labels, seed)))
    return out


def knee(points: list[KPoint]) -> tuple[int | None, dict[int, float]]:
    """Kneedle's knee of the inertia curve (None when it has none, e.g. a straight line or
    fewer than three points), and each k's scaled distance below the chord."""
    if len(points) < 3:
        return None, {}
    from kneed import KneeLocator

    ks = [p.k for p in points]
    inertias = [p.inertia for p in points]
    if max(inertias) - min(inertias) <= 0:
        return None, {}
    locator = KneeLocator(ks, inertias, curve="convex", direction="decreasing", S=1.0)
    distances = {k: float(d) for k, d in zip(ks, locator.y_difference, strict=True)}
    return (int(locator.knee) if locator.knee is not None else None), distances


def choose(points: list[KPoint], method: str, fixed: int | None = None,
           previous_k: int | None = None) -> KChoice:
    """The k to use, by `method` (`elbow` or `silhouette`) or `fixed`; the previous run's k is
    kept while its score is within `KEEP_TOLERANCE` of the best."""
    elbow_k, distances = knee(points)
    scored = [p for p in points if p.silhouette is not None]
    silhouette_k = max(scored, key=lambda p: (p.silhouette, -p.k)).k if scored else None
    if fixed is not None:
        return KChoice(points, elbow_k, silhouette_k, fixed, FIXED,
                       f"fixed by configuration at {fixed} (elbow {elbow_k}, best silhouette "
                       f"{silhouette_k})", distances)
    if not points:
        return KChoice(points, None, None, 1, "single", "too few requests to compare several "
                       "themes: one theme", distances)
    if method == ELBOW and elbow_k is not None:
        best, scores, why = elbow_k, distances, "the knee of the inertia curve (Kneedle)"
    elif silhouette_k is not None:
        best, scores = silhouette_k, {p.k: p.silhouette for p in scored}
        why = "the highest mean silhouette" + (" (the inertia curve has no knee)" if method == ELBOW
                                               else "")
        method = SILHOUETTE
    else:
        best, scores, why, method = points[0].k, {}, "the only k tried", "single"
    note = f"{why}; elbow suggests {elbow_k}, silhouette {silhouette_k}"
    if previous_k is not None and previous_k != best and previous_k in scores \
            and scores[best] - scores[previous_k] <= KEEP_TOLERANCE.get(method, 0.0):
        return KChoice(points, elbow_k, silhouette_k, previous_k, KEPT,
                       f"the previous run's k, whose {method} score {scores[previous_k]:.3f} is "
                       f"within {KEEP_TOLERANCE[method]} of the best ({best}: {scores[best]:.3f}); "
                       f"elbow suggests {elbow_k}, silhouette {silhouette_k}", distances)
    return KChoice(points, elbow_k, silhouette_k, best, method, note, distances)

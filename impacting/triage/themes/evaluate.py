"""The `themes` section of `impacting eval`: do the themes follow the teams, and do they last?

Themes are unsupervised, and the pipeline clusters every request (past and open alike), so the
section clusters the train and test records together, with the pipeline's own code
(:func:`~impacting.triage.themes.portfolio.find_themes`: the same vectors, centring, k choice and
naming; keywords from the language stage's extractor). It reports:

- the k chosen, the curves, and what each method (elbow, silhouette) would have picked;
- agreement with the teams: normalised mutual information (NMI, arithmetic mean) between themes
  and each record's `owner_team` (else its first team);
- the baseline: k-means on TF-IDF vectors of the same words, k chosen the same way; its NMI at
  its own k and at ours;
- stability: for each of the newest records, themes found without it, then again with it added
  (the previous themes remembered, as a nightly run does): how many existing themes changed label.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from impacting.language.chunking import chunk_document
from impacting.language.document_frequencies import CorpusStats
from impacting.language.encoder import EmbeddingCache
from impacting.language.keywords import KeywordExtractor, KeywordParams
from impacting.language.vectors import embed_chunks, prose_chunks
from impacting.settings import ThemeSettings
from impacting.triage.corpus import Corpus, template_passages, tfidf_vectorizer
from impacting.triage.themes.portfolio import ThemeRequest, find_themes, remembered_from_rows
from impacting.triage.themes.selection import ELBOW, SILHOUETTE, choose, k_range, kmeans, scan

STABILITY_ADDITIONS = 5


def themes_section(pool: Corpus, texts: dict[str, str], cache: EmbeddingCache,
                   settings: ThemeSettings, keyword_params: KeywordParams,
                   log: Callable[[str], None] = print) -> dict:
    """Themes on every record of `pool` (`texts`: each record's document, for its keywords)."""
    from sklearn.metrics import normalized_mutual_info_score

    pool = pool.without(template_passages(pool))
    truth, truth_from = _team_labels(pool)
    requests = _requests(pool, texts, cache, keyword_params, log)
    model_id = cache.encoder.model_id
    result = find_themes(requests, pool.vectors, settings, model_id=model_id)
    assigned = dict(zip(result.project_themes["request_key"], result.project_themes["theme_id"],
                        strict=True))
    ours = [assigned.get(r.key, -1) for r in requests]
    choice = result.choice
    chosen = next(p for p in choice.points if p.k == choice.k) if choice.k in {p.k for p in choice.points} \
        else None
    by_method = {}
    for method in (ELBOW, SILHOUETTE):
        alternative = find_themes(requests, pool.vectors, settings.model_copy(update={"k_method": method}),
                                  model_id=model_id)
        picked = dict(zip(alternative.project_themes["request_key"],
                          alternative.project_themes["theme_id"], strict=True))
        by_method[method] = {
            "k": alternative.choice.k, "method_used": alternative.choice.method,
            "nmi_teams": float(normalized_mutual_info_score(
                truth, [picked.get(r.key, -1) for r in requests])),
        }
    section = {
        "k": choice.k, "method": choice.method, "note": choice.note,
        "elbow_k": choice.elbow_k, "silhouette_k": choice.silhouette_k,
        "silhouette": chosen.silhouette if chosen else None,
        "nmi_teams": float(normalized_mutual_info_score(truth, ours)),
        "teams_from": truth_from, "distinct_teams": len(set(truth)), "n_requests": len(requests),
        "k_range": [settings.k_min, max((p.k for p in choice.points), default=settings.k_min)],
        "curve": [{"k": p.k, "inertia": p.inertia, "silhouette": p.silhouette} for p in choice.points],
        "by_method": by_method,
        "themes": [{"theme_id": int(r.theme_id), "label": r.label, "size": int(r.size),
                    "top_teams": list(r.top_teams), "cohesion": r.cohesion}
                   for r in result.themes.itertuples(index=False)],
        "baselines": {"tfidf_kmeans": _tfidf_baseline(pool, truth, settings, choice.k)},
        "stability": _stability(requests, pool.vectors, settings, model_id),
    }
    log(f"themes: k={choice.k} ({choice.method}), silhouette {section['silhouette']}, NMI with teams "
        f"{section['nmi_teams']:.3f} (TF-IDF k-means "
        f"{section['baselines']['tfidf_kmeans']['nmi_teams']:.3f} at k="
        f"{section['baselines']['tfidf_kmeans']['k']}); labels changed by one added request: "
        f"{section['stability']['labels_changed_max']}")
    return section


def _team_labels(pool: Corpus) -> tuple[list[str], str]:
    owners = [r.owner_team for r in pool.requests]
    if any(owners):
        return [o or (r.teams[0] if r.teams else "(none)") for o, r in zip(owners, pool.requests,
                                                                            strict=True)], "owner_team"
    return [r.teams[0] if r.teams else "(none)" for r in pool.requests], "first team"


def _requests(pool: Corpus, texts: dict[str, str], cache: EmbeddingCache, params: KeywordParams,
              log: Callable[[str], None]) -> list[ThemeRequest]:
    """Each record as themes see it, with keywords from the language stage's extractor over
    the record's document (document frequencies from all records, as the pipeline counts them)."""
    chunked = {r.key: chunk_document(r.key, texts.get(r.key, "")) for r in pool.requests}
    extractor = KeywordExtractor(cache, CorpusStats.build(chunked.values()), params)
    out = []
    for i, request in enumerate(pool.requests):
        chunks = chunked[request.key]
        vectors = embed_chunks(cache, prose_chunks(chunks))
        phrases = tuple(k.phrase for k in extractor.extract(chunks, vectors))
        created = np.datetime64(request.created).astype("datetime64[s]").astype(object) \
            if request.created else None
        out.append(ThemeRequest(request.key, request.title, created, phrases, pool.lexical[i],
                                request.teams, bool(request.teams), not request.teams))
        if (i + 1) % 100 == 0:
            log(f"themes: keywords of {i + 1}/{len(pool)} records")
    return out


def _tfidf_baseline(pool: Corpus, truth: list[str], settings: ThemeSettings, our_k: int) -> dict:
    from sklearn.metrics import normalized_mutual_info_score

    terms = tfidf_vectorizer(len(pool)).fit_transform(pool.lexical)
    ks = k_range(len(pool), settings.k_min, settings.k_max)
    scanned = scan(terms, ks, settings.seed)
    choice = choose([point for _, point in scanned.values()], settings.k_method, settings.k)

    def labels_at(k: int) -> np.ndarray:
        return scanned[k][0].labels if k in scanned else kmeans(terms, k, settings.seed).labels

    labels, at_ours = labels_at(choice.k), labels_at(our_k)
    point = next((p for _, p in scanned.values() if p.k == choice.k), None)
    return {"k": choice.k, "method": choice.method, "elbow_k": choice.elbow_k,
            "silhouette_k": choice.silhouette_k, "silhouette": point.silhouette if point else None,
            "nmi_teams": float(normalized_mutual_info_score(truth, labels)),
            "nmi_teams_at_our_k": float(normalized_mutual_info_score(truth, at_ours)),
            "features": int(terms.shape[1])}


def _stability(requests: list[ThemeRequest], vectors: np.ndarray, settings: ThemeSettings,
               model_id: str) -> dict:
    """For each of the newest records: themes without it, then with it (the first run
    remembered). Counts the first run's themes whose label changed or that vanished."""
    newest = sorted(range(len(requests)), key=lambda i: (requests[i].created_at is not None,
                                                         requests[i].created_at or 0, requests[i].key))
    trials = []
    for added in newest[-STABILITY_ADDITIONS:]:
        keep = [i for i in range(len(requests)) if i != added]
        before = find_themes([requests[i] for i in keep], vectors[keep], settings, model_id=model_id)
        after = find_themes(requests, vectors, settings, remembered_from_rows(before.memory),
                            model_id=model_id)
        old, new = before.labels(), after.labels()
        changed = sorted(t for t, label in old.items() if new.get(t) != label)
        trials.append({"added": requests[added].key, "k_before": before.choice.k,
                       "k_after": after.choice.k, "labels_changed": len(changed),
                       "changed": [{"theme_id": int(t), "before": old[t], "after": new.get(t)}
                                   for t in changed]})
    return {"additions": len(trials),
            "labels_changed_max": max((t["labels_changed"] for t in trials), default=0),
            "trials": trials}

"""The `teams` and `similar` sections of `impacting eval`: triage measured on benchmark records.

Both drive the code the pipeline runs: :func:`~impacting.triage.teams.fit_team_model` (model
selection, calibration, thresholds by cross-validation on the train records only),
:func:`~impacting.triage.predict.triage` (decisions) and
:class:`~impacting.triage.similar.SimilarityIndex` (fusion, cut-off, top-k).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from impacting.triage.corpus import Corpus
from impacting.triage.metrics import decision_metrics, ranking_metrics
from impacting.triage.predict import triage
from impacting.triage.ranking.features import link_graph
from impacting.triage.ranking.serve import find_similar, train_ranker
from impacting.triage.similar import HYBRID, MODES, SimilarConfig, SimilarityIndex, link_metrics
from impacting.triage.teams import TeamModel, TeamModelConfig, fit_team_model
from impacting.triage.teams.candidates import BASE_CANDIDATES, COMBINATION

LEARNED, FIXED_FUSION = "learned", "fixed"


# What the team model did before issue 16 (one prior per team over all the history; thresholds
# per team, shrunk at most 1000 pseudo-examples toward the pooled one): `before` in the section.
PREVIOUS_TEAM_METHOD = {"shrinkage_grid": (0.0, 10.0, 30.0, 100.0, 300.0, 1000.0),
                        "context_priors": False}
BEFORE_FIGURES = ("notify_recall", "unsure_or_notify_recall", "notify_per_request",
                  "unsure_per_request", "reading_saved", "recall_at_3", "micro_f1", "macro_f1",
                  "k_for_95_recall", "owner_top1", "chosen")


def teams_section(train: Corpus, test: Corpus, config: TeamModelConfig,
                  log: Callable[[str], None] | None = None, model: TeamModel | None = None) -> dict:
    """Team figures on the test records for the model trained (and tuned) on the train records.

    Top level: the product's decisions (notify_recall, notify_per_request, unsure_per_request,
    unsure_or_notify_recall, reading_saved) and the kept model's ranking (micro_f1, macro_f1,
    recall_at_3, owner_top1, k_for_95_recall). `candidates` has the ranking figures of every
    candidate, each with its own cross-validated threshold; `cv` what cross-validation saw;
    `before` the same figures for the method before issue 16 (`PREVIOUS_TEAM_METHOD`), fitted on
    the same train records. `model`: the model already fitted on `train` with `config`, when the
    caller has it.
    """
    section = _teams_figures(train, test, config, log, model)
    previous = _teams_figures(train, test, replace(config, **PREVIOUS_TEAM_METHOD), log)
    section["before"] = {k: previous[k] for k in BEFORE_FIGURES if k in previous} | {
        "cv_decisions": previous["cv"]["decisions"]}
    return section


def _teams_figures(train: Corpus, test: Corpus, config: TeamModelConfig,
                   log: Callable[[str], None] | None = None, model: TeamModel | None = None) -> dict:
    model = model or fit_team_model(train, config, progress=log)
    # Decisions only: reasons (and so the similar projects they cite) are not scored.
    result = triage(model, test, explain=False)
    truth = [set(r.teams) for r in test.requests]
    owners = [r.owner_team for r in test.requests]
    has_owner = any(owners)
    base = model.base_scores(test)

    candidates = {}
    for name in (*BASE_CANDIDATES, COMBINATION):
        probabilities = model.probabilities(test, name, base)
        candidates[name] = ranking_metrics(truth, model.teams, probabilities,
                                           model.f1_thresholds[name], owners if has_owner else None)
    chosen = candidates[model.chosen]
    unseen = sum(1 for labels in truth for t in labels if t not in set(model.teams))
    section = {
        **decision_metrics(truth, model.teams, result.decisions),
        **{k: v for k, v in chosen.items() if k != "f1_threshold"},
        "chosen": model.chosen,
        "combination_weights": model.weights,
        "teams_known": len(model.teams),
        "test_labels_unseen_in_training": unseen,
        "n_train": len(train),
        "n_test": len(test),
        "candidates": candidates,
        "cv": {
            "folds": model.cv.get("folds"),
            "fold_scheme": model.cv.get("fold_scheme"),
            "notify_level": model.cv.get("notify_level"),
            "unsure_level": model.cv.get("unsure_level"),
            "threshold_shrinkage": model.cv.get("threshold_shrinkage"),
            "decisions": model.cv.get("decisions"),
            "history": model.cv.get("history"),
            "brier": model.cv.get("brier"),
            "candidates": model.cv.get("candidates"),
        },
        "thresholds": {
            "notify_median": float(np.median(model.notify_thresholds)),
            "unsure_median": float(np.median(model.unsure_thresholds)),
        },
    }
    if not has_owner:
        section.pop("owner_top1", None)
    return section


def similar_section(train: Corpus, test: Corpus, similar: SimilarConfig,
                    ranking: str = LEARNED, log: Callable[[str], None] | None = None) -> dict:
    """Similar-project figures over the test records that have links; the pool is train + test
    minus the record itself. Top level: the search as users get it (with `ranking` = learned:
    the ranking learned from the train records' links, with its probability cut-off; else the
    fixed fusion with its score cut-off), and `before`, the fixed fusion as users got it before
    the learned ranking. `modes` has the fixed fusion and its lexical and semantic halves alone,
    without a cut-off (their scales differ), for a like-for-like comparison; `ranking` what the
    ranking's cross-validation on the train records saw."""
    pool = Corpus.concat([train, test])
    index = SimilarityIndex(pool, similar.lexical_weight, candidates=similar.candidates)
    keys = set(pool.keys)
    relevant = [set(r.links) & keys - {r.key} for r in test.requests]
    halves = index.halves(test)  # the passage comparison, once for every search below
    fixed = index.search(test, top_k=similar.top_k, min_score=similar.min_score, mode=HYBRID,
                         halves=halves)
    ranker = None
    if ranking == LEARNED:
        started = time.perf_counter()
        ranker = train_ranker(train, SimilarityIndex(train, similar.lexical_weight,
                                                     candidates=similar.candidates), progress=log)
        training_seconds = time.perf_counter() - started
    # The history the ranking reads: the links among the pool's projects, as for a past project
    # in the pipeline, never a link of the query itself (the features leave those out), the
    # same as in the ranking's own cross-validation.
    history = link_graph(pool)
    product = find_similar(index, test, pool, top_k=similar.top_k, min_score=similar.min_score,
                           ranker=ranker, history_links=history, halves=halves)
    section = {**link_metrics(relevant, product), "lexical_weight": similar.lexical_weight,
               "min_score": similar.min_score, "top_k": similar.top_k,
               "ranking": ranker.chosen if ranker is not None else "fixed_fusion"}
    matched = [len(m) for m, rel in zip(product, relevant, strict=True)]
    section["matches_per_request"] = float(np.mean(matched)) if matched else 0.0
    section["requests_without_match"] = sum(1 for n in matched if n == 0)
    section["before"] = {**link_metrics(relevant, fixed), "method": "fixed fusion, score cut-off"}
    section["modes"] = {
        mode: link_metrics(relevant, index.search(test, top_k=max(10, similar.top_k), min_score=0.0,
                                                  mode=mode, halves=halves))
        for mode in MODES
    }
    if ranker is not None:
        section["ranking_cv"] = ranker.cv
        section["ranking_training_seconds"] = training_seconds
        if ranker.learned:
            section["min_probability"] = ranker.min_probability
            section["modes"]["learned_no_cutoff"] = link_metrics(relevant, find_similar(
                index, test, pool, top_k=max(10, similar.top_k), min_score=0.0, ranker=ranker,
                history_links=history, halves=halves, min_probability=0.0))
    if index.two_stage():
        section["two_stage"] = two_stage_section(index, pool, test, relevant, similar, ranker, history,
                                                 halves)
    return section


def two_stage_section(index: SimilarityIndex, pool: Corpus, test: Corpus, relevant: list[set[str]],
                      similar: SimilarConfig, ranker, history, halves) -> dict:
    """What the two-stage search keeps of the exact one (every past project's passages compared)
    on the same queries: link recall and MRR both ways, as users get them and for the fixed
    fusion without a cut-off, and how many of the exact top 10 the two stages return."""
    exact = SimilarityIndex(pool, similar.lexical_weight, candidates=0)
    started = time.perf_counter()
    exact_halves = exact.halves(test)
    exact_seconds = time.perf_counter() - started
    started = time.perf_counter()
    index.halves(test)
    two_stage_seconds = time.perf_counter() - started

    def searches(which: SimilarityIndex, which_halves) -> tuple[list, list]:
        product = find_similar(which, test, pool, top_k=similar.top_k, min_score=similar.min_score,
                               ranker=ranker, history_links=history, halves=which_halves)
        fused = which.search(test, top_k=10, min_score=0.0, mode=HYBRID, halves=which_halves)
        return product, fused

    (product, fused), (exact_product, exact_fused) = searches(index, halves), searches(exact, exact_halves)
    overlap = [len({m.key for m in a} & {m.key for m in b}) / len(b)
               for a, b in zip(fused, exact_fused, strict=True) if b]
    return {
        "candidates": index.candidates,
        "pool": len(pool.keys),
        "as_served": {"two_stage": link_metrics(relevant, product),
                      "exact": link_metrics(relevant, exact_product)},
        "fixed_fusion_top10": {"two_stage": link_metrics(relevant, fused),
                               "exact": link_metrics(relevant, exact_fused)},
        "top10_overlap_with_exact": float(np.mean(overlap)) if overlap else None,
        "passage_seconds": {"two_stage": round(two_stage_seconds, 2), "exact": round(exact_seconds, 2)},
    }

"""Fitting the team model: candidates compared by cross-validation, calibrated, with thresholds.

:func:`fit_team_model` is the one entry point the nightly pipeline and `impacting eval` share:

1. Cross-validation on the history (folds in time order: each request is scored by models
   that did not see it) gives out-of-fold scores for every base candidate.
2. A calibrator per candidate turns scores into probabilities (`calibration`). The
   combination is the weighted mean of the base candidates' probabilities (weights from a
   grid), calibrated in turn; the candidate kept is the best on the mean of recall@3 and
   micro-F1.
3. Per-team notify and unsure thresholds for the target recall, checked on held-out folds
   (`thresholds`).
4. Every base candidate is refitted on all the history.

Teams with fewer than `min_team_examples` past requests take their scores from the similarity
vote, whatever candidate is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from impacting.settings import TriageSettings
from impacting.triage.corpus import Corpus, template_passages
from impacting.triage.metrics import (
    NOT_NOTIFIED,
    NOTIFY,
    UNSURE,
    best_f1_threshold,
    decision_metrics,
    ranking_metrics,
)
from impacting.triage.teams.budget import capped_decisions, history_support
from impacting.triage.teams.calibration import Calibrator
from impacting.triage.teams.candidates import (
    BASE_CANDIDATES,
    COMBINATION,
    EMBEDDING_LINEAR,
    SIMILARITY_VOTE,
    VOTE_LEXICAL_WEIGHT,
    combination_grid,
    combine,
    make_base,
)
from impacting.triage.teams.priors import ContextPriors
from impacting.triage.teams.thresholds import choose_thresholds
from impacting.triage.terms import shared_terms

BLOCKED, ROLLING = "blocked", "rolling"
# The settings' defaults: one declaration (impacting.settings), read here.
_SETTINGS = TriageSettings()


@dataclass(frozen=True)
class TeamModelConfig:
    target_recall: float = _SETTINGS.target_recall
    unsure_recall: float = _SETTINGS.unsure_recall  # the unsure band reaches down to this recall at most...
    reading_budget: float = _SETTINGS.reading_budget  # ...while notified + unsure fit this share
    folds: int = _SETTINGS.cv_folds
    fold_scheme: str = BLOCKED        # blocked: K time-ordered blocks; rolling: train on the past only
    min_team_examples: int = _SETTINGS.min_team_examples  # below this a team's score is the similarity vote
    neighbours: int = 10
    lexical_weight: float = VOTE_LEXICAL_WEIGHT   # of the similarity vote
    # Pseudo-examples pulling a team's threshold toward the pooled one; cross-validation picks.
    # (One threshold for all teams (shrinkage 1e9) was tried: cross-validation never chose it on the
    # KEP or Jira train files, and it left a small history no unsure band; docs/benchmarks.md.)
    shrinkage_grid: tuple[float, ...] = (0.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
    combination_step: float = 0.1
    # Base rates per request (`teams.priors`): the request's key prefix (a Jira project) and,
    # with a half-life, nearby history weighted more; else one base rate per team.
    context_priors: bool = True
    prior_half_life_days: float | None = None

    @classmethod
    def from_settings(cls, settings: TriageSettings, **overrides) -> TeamModelConfig:
        """The model's configuration from the `triage` settings (`overrides` win)."""
        return cls(**{"target_recall": settings.target_recall,
                      "unsure_recall": settings.unsure_recall,
                      "reading_budget": settings.reading_budget, "folds": settings.cv_folds,
                      "min_team_examples": settings.min_team_examples, **overrides})

    def __post_init__(self) -> None:
        if not 0.5 <= self.target_recall < 1.0:
            raise ValueError(f"target recall must be within [0.5, 1), got {self.target_recall}")
        if not self.target_recall <= self.unsure_recall < 1.0:
            raise ValueError(f"unsure recall must be within [target recall, 1), got {self.unsure_recall}")
        if not 0.0 < self.reading_budget <= 1.0:
            raise ValueError(f"reading budget must be within (0, 1], got {self.reading_budget}")
        if self.fold_scheme not in (BLOCKED, ROLLING):
            raise ValueError(f"fold scheme must be {BLOCKED!r} or {ROLLING!r}, got {self.fold_scheme!r}")
        if self.folds < 2:
            raise ValueError(f"cross-validation needs at least 2 folds, got {self.folds}")


def label_matrix(corpus: Corpus, teams: Sequence[str]) -> np.ndarray:
    index = {t: j for j, t in enumerate(teams)}
    labels = np.zeros((len(corpus), len(teams)), dtype=np.int8)
    for i, request in enumerate(corpus.requests):
        for team in request.teams:
            if team in index:
                labels[i, index[team]] = 1
    return labels


def temporal_order(corpus: Corpus) -> np.ndarray:
    """Positions oldest first; undated requests keep their place after the dated ones."""
    return np.array(sorted(range(len(corpus)),
                           key=lambda i: (corpus.requests[i].created is None,
                                          corpus.requests[i].created or "", i)), dtype=int)


def temporal_folds(corpus: Corpus, folds: int, scheme: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train positions, held-out positions) per fold, by creation date.

    blocked: K consecutive blocks, each held out once (every request gets an out-of-fold
    score); rolling: K+1 blocks, each block from the second on is scored by a model trained
    on the blocks before it only (what deployment does; the oldest block gets no score).
    """
    order = temporal_order(corpus)
    if scheme == ROLLING:
        blocks = [b for b in np.array_split(order, min(folds + 1, len(order))) if len(b)]
        return [(np.concatenate(blocks[:k]), blocks[k]) for k in range(1, len(blocks))]
    blocks = [b for b in np.array_split(order, min(folds, len(order))) if len(b)]
    return [(np.concatenate([b for m, b in enumerate(blocks) if m != k]), blocks[k])
            for k in range(len(blocks))]


@dataclass
class TeamModel:
    """A trained team model: what it knows, how it scores, and how it decides."""

    teams: list[str]
    counts: np.ndarray                 # past requests per team
    candidates: dict                   # base candidate name -> fitted candidate
    chosen: str
    weights: dict[str, float]          # combination weights
    calibrators: dict[str, Calibrator]
    f1_thresholds: dict[str, float]    # per candidate, on its probabilities (micro-F1 in CV)
    notify_thresholds: np.ndarray
    unsure_thresholds: np.ndarray
    config: TeamModelConfig
    cv: dict = field(default_factory=dict)
    training_keys: list[str] = field(default_factory=list)
    template: frozenset[str] = frozenset()   # template sentences (SHA-256), left out of features
    # Set when the history is too short for the target recall within the reading budget
    # (`teams.budget`): teams asked to read (notify + unsure) per request, at most.
    reading_cap: int | None = None

    # The per-request base rates (`teams.priors`) when the configuration asks for them.
    context: ContextPriors | None = None

    @property
    def priors(self) -> np.ndarray:
        return (self.counts + 0.5) / (max(len(self.training_keys), 1) + 1.0)

    def priors_for(self, corpus: Corpus) -> np.ndarray:
        """Each team's base rate for each request of `corpus` (requests x teams, or one per team)."""
        return self.priors if self.context is None else self.context(corpus.requests)

    @property
    def rare(self) -> np.ndarray:
        return self.counts < self.config.min_team_examples

    def base_scores(self, corpus: Corpus) -> dict[str, np.ndarray]:
        if not len(corpus):  # nothing awaiting triage
            return {name: np.zeros((0, len(self.teams)), dtype=np.float32) for name in self.candidates}
        corpus = corpus.without(self.template)
        return {name: model.scores(corpus) for name, model in self.candidates.items()}

    def scores(self, corpus: Corpus, candidate: str | None = None,
               base: dict[str, np.ndarray] | None = None, priors: np.ndarray | None = None) -> np.ndarray:
        """Scores of `candidate` (default: the kept one) before its own calibration; rare teams
        take the vote's. The combination's are the weighted mean of its members' probabilities."""
        base = base if base is not None else self.base_scores(corpus)
        candidate = candidate or self.chosen
        if candidate == COMBINATION:
            priors = self.priors_for(corpus) if priors is None else priors
            members = {name: self.calibrators[name](_with_fallback(base, name, self.rare), priors)
                       for name in BASE_CANDIDATES if self.weights.get(name)}
            return combine(members, self.weights)
        return _with_fallback(base, candidate, self.rare)

    def probabilities(self, corpus: Corpus, candidate: str | None = None,
                      base: dict[str, np.ndarray] | None = None) -> np.ndarray:
        candidate = candidate or self.chosen
        priors = self.priors_for(corpus)
        return self.calibrators[candidate](self.scores(corpus, candidate, base, priors), priors)

    @property
    def history_note(self) -> str | None:
        """What a reader should know when the history is too short for the target recall."""
        history = self.cv.get("history") or {}
        return None if history.get("supports_target", True) else history.get("message")

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """NOTIFY at or above a team's threshold, UNSURE in the band below it, else NOT_NOTIFIED;
        with a reading cap (short history), UNSURE only for the most likely teams within it."""
        if self.reading_cap is not None:
            return capped_decisions(probabilities, probabilities >= self.notify_thresholds,
                                    probabilities >= self.unsure_thresholds, self.reading_cap)
        decisions = np.full(probabilities.shape, NOT_NOTIFIED, dtype=object)
        decisions[probabilities >= self.unsure_thresholds] = UNSURE
        decisions[probabilities >= self.notify_thresholds] = NOTIFY
        return decisions


def _with_fallback(base: dict[str, np.ndarray], candidate: str, rare: np.ndarray) -> np.ndarray:
    """A base candidate's scores with the rare teams' columns taken from the similarity vote."""
    if candidate == SIMILARITY_VOTE or not rare.any():
        return base[candidate]
    return np.where(rare, base[SIMILARITY_VOTE], base[candidate])


def _selection_score(metrics: dict) -> float:
    return (metrics["recall_at_3"] + metrics["micro_f1"]) / 2


def fit_team_model(corpus: Corpus, config: TeamModelConfig = TeamModelConfig(),
                   progress=None, template: frozenset[str] | None = None) -> TeamModel:
    """Cross-validate the candidates on `corpus` (requests with known teams), keep the best,
    calibrate it, choose thresholds, and refit on everything. See the module docstring.

    `template`: the template sentences of exactly these requests when already known (the
    pipeline's triage corpus has them); computed from `corpus` otherwise. Each document's words
    are split into terms once for all the folds' TF-IDF fits (:func:`shared_terms`)."""
    with shared_terms():
        return _fit_team_model(corpus, config, progress, template)


def _fit_team_model(corpus: Corpus, config: TeamModelConfig, progress,
                    template: frozenset[str] | None) -> TeamModel:
    log = progress or (lambda message: None)
    corpus = corpus.subset([i for i, r in enumerate(corpus.requests) if r.teams])
    if not len(corpus):
        raise ValueError("no past request has a team yet: the team model needs at least one "
                         "request whose team field is filled in")
    # Sentences most past requests share (a template's questions) say nothing about teams.
    if template is None:
        template = template_passages(corpus)
    corpus = corpus.without(template)
    teams = sorted({t for r in corpus.requests for t in r.teams})
    labels = label_matrix(corpus, teams)
    counts = labels.sum(axis=0)
    priors = (counts + 0.5) / (len(corpus) + 1.0)
    truth = [set(r.teams) for r in corpus.requests]

    # 1. Out-of-fold scores for every base candidate.
    folds = temporal_folds(corpus, config.folds, config.fold_scheme) if len(corpus) >= 2 else []
    scored = np.zeros(len(corpus), dtype=bool)
    fold_of = np.full(len(corpus), -1)
    oof = {name: np.zeros(labels.shape, dtype=np.float32) for name in BASE_CANDIDATES}
    rare_oof = np.zeros(labels.shape, dtype=bool)
    seen_oof = np.zeros(labels.shape, dtype=bool)
    fold_priors = np.broadcast_to(priors, labels.shape).copy()
    for number, (train, held) in enumerate(folds):
        log(f"cross-validation fold {number + 1}/{len(folds)}: {len(train)} to learn, {len(held)} held out")
        if config.context_priors:  # learned from the fold's training part only
            fold_priors[held] = ContextPriors(config.prior_half_life_days).fit(
                [corpus.requests[i] for i in train], labels[train])([corpus.requests[i] for i in held])
        train_corpus, held_corpus = corpus.subset(train), corpus.subset(held)
        for name in BASE_CANDIDATES:
            model = make_base(name, config.neighbours, config.lexical_weight)
            oof[name][held] = model.fit(train_corpus, labels[train]).scores(held_corpus)
        rare_oof[held] = labels[train].sum(axis=0) < config.min_team_examples
        seen_oof[held] = labels[train].sum(axis=0) > 0
        scored[held] = True
        fold_of[held] = number

    # 2. Combination weights and the kept candidate, on out-of-fold scores.
    rows = np.flatnonzero(scored)
    cv_truth = [truth[i] for i in rows]
    cv_owners = [corpus.requests[i].owner_team for i in rows]

    def finished(candidate: str) -> np.ndarray:
        base = oof[candidate][rows]
        if candidate == SIMILARITY_VOTE:
            return base
        return np.where(rare_oof[rows], oof[SIMILARITY_VOTE][rows], base)

    calibrators: dict[str, Calibrator] = {}
    probabilities: dict[str, np.ndarray] = {}
    f1_thresholds: dict[str, float] = {}
    ranking: dict[str, dict] = {}

    def assess(raw: np.ndarray, with_k: bool = True) -> dict:
        calibrator = Calibrator().fit(raw, labels[rows], fold_priors[rows])
        probs = calibrator(raw, fold_priors[rows])
        threshold = best_f1_threshold(cv_truth, teams, probs)
        metrics = ranking_metrics(cv_truth, teams, probs, threshold, cv_owners, with_k=with_k)
        return {"calibrator": calibrator, "probabilities": probs, "metrics": metrics}

    def keep(name: str, result: dict) -> None:
        calibrators[name] = result["calibrator"]
        probabilities[name] = result["probabilities"]
        f1_thresholds[name] = result["metrics"]["f1_threshold"]
        ranking[name] = result["metrics"]

    weights = {name: 1.0 / len(BASE_CANDIDATES) for name in BASE_CANDIDATES}
    if len(rows):
        for name in BASE_CANDIDATES:
            keep(name, assess(finished(name)))
        # The combination averages the members' calibrated probabilities, so each weighs in on
        # the same scale; its weights are the grid point cross-validation likes best.
        best_score = -1.0
        for grid_weights in combination_grid(config.combination_step):
            score = _selection_score(assess(combine(probabilities, grid_weights), with_k=False)["metrics"])
            if score > best_score + 1e-9:
                weights, best_score = grid_weights, score
        keep(COMBINATION, assess(combine(probabilities, weights)))
        chosen = max((*BASE_CANDIDATES, COMBINATION),
                     key=lambda name: (_selection_score(ranking[name]), name == COMBINATION))
    else:  # a single past request: nothing to cross-validate on
        chosen = SIMILARITY_VOTE
        calibrators = {name: Calibrator() for name in (*BASE_CANDIDATES, COMBINATION)}
        f1_thresholds = {name: 0.5 for name in calibrators}
    log(f"kept {chosen}" + (f" (weights {weights})" if chosen == COMBINATION else ""))

    # 3. Thresholds for the target recall, checked on held-out folds.
    if len(rows):
        probs = probabilities[chosen]
        # A team absent from a fold's training part cannot be predicted there, but the final
        # model knows every team: such positives would only drag thresholds to zero.
        plan = choose_thresholds(probs, labels[rows] * seen_oof[rows], fold_of[rows], config)
        notify, unsure = plan.notify, plan.unsure
        decisions = plan.cross_fitted
        support = history_support(plan.cross_fitted, len(corpus), config.target_recall,
                                  config.reading_budget)
        if not support.supports_target:
            # Too little history for the target within the budget (teams.budget): notify the
            # likely teams only, and ask the teams the target would notify as unsure, in order.
            cap = support.reading_cap
            notify = np.full(len(teams), f1_thresholds[chosen])
            unsure = np.minimum(notify, plan.notify)
            decisions = capped_decisions(probs, probs >= f1_thresholds[chosen],
                                         plan.cross_fitted == NOTIFY, cap)
            log(support.message())
        cv = {
            "chosen": chosen,
            "weights": weights,
            "folds": len(folds),
            "fold_scheme": config.fold_scheme,
            "requests_scored": int(len(rows)),
            "notify_level": plan.notify_level,
            "unsure_level": plan.unsure_level,
            "threshold_shrinkage": plan.shrinkage,
            "decisions": decision_metrics(cv_truth, teams, decisions),
            "history": support.as_dict(),
            "candidates": ranking,
            "brier": float(np.mean((probs - labels[rows]) ** 2)),
        }
    else:
        notify = np.full(len(teams), 0.5)
        unsure = np.full(len(teams), 0.25)
        cv = {"chosen": chosen, "folds": 0, "requests_scored": 0}
        support = None

    # 4. Every base candidate on all the history: the combination, the vote fallback and the
    # explanations need them whichever is kept.
    log(f"refitting on {len(corpus)} past requests and {len(teams)} teams")
    fitted = {name: make_base(name, config.neighbours, config.lexical_weight).fit(corpus, labels)
              for name in BASE_CANDIDATES}
    return TeamModel(
        teams=teams, counts=counts, candidates=fitted, chosen=chosen, weights=weights,
        calibrators=calibrators, f1_thresholds=f1_thresholds, notify_thresholds=notify,
        unsure_thresholds=unsure, config=config, cv=cv, training_keys=corpus.keys, template=template,
        reading_cap=None if support is None or support.supports_target else support.reading_cap,
        context=ContextPriors(config.prior_half_life_days).fit(corpus.requests, labels)
        if config.context_priors else None,
    )


def passage_support(model: TeamModel, passage_vectors: np.ndarray, team: str) -> np.ndarray:
    """How much each passage pushes the request toward `team`: its log-odds under the
    embedding model (the document vector is the mean of the passages', so these are exactly
    the passages that move the document's score)."""
    embedding = model.candidates[EMBEDDING_LINEAR]
    j = model.teams.index(team)
    if not len(passage_vectors):
        return np.zeros(0)
    return embedding.decision(passage_vectors)[:, j]

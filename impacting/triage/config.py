"""Triage settings (environment) → the configurations of the pure triage core."""

from __future__ import annotations

from impacting.settings import TriageSettings
from impacting.triage.similar import SimilarConfig
from impacting.triage.teams import TeamModelConfig


def team_model_config(settings: TriageSettings, **overrides) -> TeamModelConfig:
    return TeamModelConfig(
        **{
            "target_recall": settings.target_recall,
            "unsure_recall": settings.unsure_recall,
            "reading_budget": settings.reading_budget,
            "folds": settings.cv_folds,
            "min_team_examples": settings.min_team_examples,
            **overrides,
        }
    )


def similar_config(settings: TriageSettings) -> SimilarConfig:
    return SimilarConfig(lexical_weight=settings.similar_lexical_weight,
                         top_k=settings.similar_top_k, min_score=settings.similar_min_score)

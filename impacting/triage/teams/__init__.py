"""The team model: which teams a request impacts, with calibrated probabilities and thresholds.

- `candidates`: the models cross-validation chooses between;
- `calibration`: scores → probabilities;
- `thresholds`: per-team notify and unsure thresholds for the target recall;
- `fitting`: the model itself and :func:`fit_team_model`, the one entry point.
"""

from impacting.triage.teams.calibration import Calibrator
from impacting.triage.teams.fitting import (
    BLOCKED,
    ROLLING,
    TeamModel,
    TeamModelConfig,
    fit_team_model,
    label_matrix,
    passage_support,
    temporal_folds,
    temporal_order,
)
from impacting.triage.teams.thresholds import ThresholdPlan, choose_level, choose_thresholds, team_thresholds

__all__ = [
    "BLOCKED", "ROLLING", "Calibrator", "TeamModel", "TeamModelConfig", "ThresholdPlan",
    "choose_level", "choose_thresholds", "fit_team_model", "label_matrix", "passage_support",
    "team_thresholds", "temporal_folds", "temporal_order",
]

"""The model registry: trained team models as artefact files, and their history in `models`.

A model is trained only when its training data (requests, teams, words, feedback) or its
configuration changed since the last one registered. A newly trained model replaces the
accepted one only if its cross-validated recall (notify recall and recall@3) is not worse by
more than the configured tolerance; otherwise it is kept as `rejected`, with the reason, and
the accepted model goes on serving.

Artefacts: `<root>/<model name>/<version>/model.pkl` and `metrics.json` beside it. They are
written by this pipeline and read back by it only (pickle is not for files from elsewhere).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from impacting.triage.corpus import Corpus
from impacting.triage.ranking.model import FIXED, SimilarRanker
from impacting.triage.teams import TeamModel, TeamModelConfig
from impacting.triage.tuning.trial import EncoderTrial
from impacting.warehouse.store import to_json, upsert_rows
from impacting.warehouse.tables import MODELS

TEAM_MODEL = "team_model"
SIMILAR_RANKER = "similar_ranker"   # the learned ranking of similar projects
ENCODER = "encoder"                 # a sentence encoder fine-tuned on the history
ACCEPTED, REJECTED, SUPERSEDED = "accepted", "rejected", "superseded"
# Cross-validated figures a new model must not lose (beyond the tolerance) to be accepted.
GUARDED = ("notify_recall", "recall_at_3")
SUMMARY = ("notify_recall", "reading_saved", "recall_at_3", "micro_f1")


@dataclass(frozen=True)
class Registration:
    version: str
    status: str
    reason: str


TrainingEntry = tuple[str, Sequence[str], str | None, str]   # key, teams, created, text SHA-256


def training_fingerprint(entries: Iterable[TrainingEntry], config: TeamModelConfig,
                         embedding_model: str) -> str:
    """Changes exactly when what the model would learn from changes: each past request's key,
    teams, creation date and text (by hash), the model's configuration and the encoder. The
    pipeline takes the entries from the triage corpus, before anything is embedded."""
    digest = hashlib.sha256()
    digest.update(json.dumps([asdict(config), embedding_model], sort_keys=True).encode())
    for key, teams, created, text_sha256 in sorted(entries, key=lambda entry: entry[0]):
        digest.update(json.dumps([key, sorted(teams), created, text_sha256]).encode())
    return digest.hexdigest()


def corpus_entries(corpus: Corpus) -> list[TrainingEntry]:
    """Training entries of an in-memory corpus (its words stand for its text)."""
    return [(r.key, r.teams, r.created, hashlib.sha256(text.encode()).hexdigest())
            for r, text in zip(corpus.requests, corpus.lexical, strict=True)]


def cv_summary(model: TeamModel) -> dict[str, float | None]:
    """The cross-validated figures the registry compares and the `models` table shows."""
    chosen = model.cv.get("candidates", {}).get(model.chosen, {})
    decisions = model.cv.get("decisions", {})
    return {
        "notify_recall": decisions.get("notify_recall"),
        "reading_saved": decisions.get("reading_saved"),
        "recall_at_3": chosen.get("recall_at_3"),
        "micro_f1": chosen.get("micro_f1"),
    }


class ModelRegistry:
    def __init__(self, con: duckdb.DuckDBPyConnection, root: Path):
        self.con = con
        self.root = Path(root)

    @classmethod
    def of_warehouse(cls, con: duckdb.DuckDBPyConnection, working_dir: Path) -> ModelRegistry:
        """The registry of a warehouse: `models` rows in `con` (the working database, or the
        published file read-only), artefacts in its working folder."""
        return cls(con, Path(working_dir) / "models")

    def rows(self, name: str = TEAM_MODEL) -> pd.DataFrame:
        return self.con.execute(
            f"SELECT * FROM {MODELS.qualified} WHERE model_name = ? ORDER BY trained_at", [name]
        ).df()

    def _latest(self, name: str, status: str | None = None) -> Mapping | None:
        rows = self.rows(name)
        if status:
            rows = rows[rows["status"] == status]
        return None if rows.empty else rows.iloc[-1].to_dict()

    def accepted(self, name: str = TEAM_MODEL) -> tuple[Mapping, TeamModel] | None:
        """The serving model and its row, or None if there is none (or its file is gone)."""
        row = self._latest(name, ACCEPTED)
        if row is None:
            return None
        try:
            with open(row["artefact"], "rb") as handle:
                return row, pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None

    def needs_training(self, fingerprint: str, name: str = TEAM_MODEL) -> bool:
        """True unless a model was already trained on exactly this data and configuration and
        the accepted model can be loaded."""
        latest = self._latest(name)
        if latest is None or self.accepted(name) is None:
            return True
        return latest["fingerprint"] != fingerprint

    def register(self, model: TeamModel, fingerprint: str, tolerance: float,
                 name: str = TEAM_MODEL) -> Registration:
        """Store `model`'s artefacts and row; accept it unless it loses recall (see module)."""
        version, folder = self._new_version(name, fingerprint)
        artefact = self._pickle(model, folder)
        summary = cv_summary(model)
        (folder / "metrics.json").write_text(json.dumps(
            {"version": version, "chosen": model.chosen, "cv": model.cv, "summary": summary},
            indent=2, default=float))

        current = self.accepted(name)
        status, reason = ACCEPTED, "first model" if current is None else ""
        if current is not None:
            old_row, _ = current
            worse = [
                f"{metric} {summary[metric]:.3f} < accepted {old_row['cv_' + metric]:.3f} - {tolerance:.3f}"
                for metric in GUARDED
                if summary[metric] is not None and old_row.get("cv_" + metric) is not None
                and not pd.isna(old_row["cv_" + metric])
                and summary[metric] < old_row["cv_" + metric] - tolerance
            ]
            if worse:
                status = REJECTED
                reason = (f"cross-validated recall worse than the accepted model {old_row['version']}: "
                          + "; ".join(worse))
            else:
                reason = f"replaces {old_row['version']} (training data changed)"
        self._record(name, version, fingerprint, len(model.training_keys), list(model.teams),
                     model.chosen, summary, model.cv, status, reason, artefact)
        return Registration(version, status, reason)

    def register_ranker(self, ranker: SimilarRanker, fingerprint: str, training_requests: int
                        ) -> Registration:
        """Store the similar-project ranking; it is always accepted: cross-validation inside
        :func:`fit_similar_ranker` already chose between it and the fixed fusion (kept as the
        ranker's `chosen` when nothing learned beat it)."""
        version, folder = self._new_version(SIMILAR_RANKER, fingerprint)
        artefact = self._pickle(ranker, folder)
        (folder / "metrics.json").write_text(json.dumps(
            {"version": version, "chosen": ranker.chosen, "cv": ranker.cv}, indent=2, default=float))
        figures = ranker.cv.get("candidates", {})
        reason = ranker.cv.get("reason") or (
            f"held-out recall@10 {figures[ranker.chosen]['recall_at_10']:.3f} / MRR "
            f"{figures[ranker.chosen]['mrr']:.3f} vs the fixed fusion's "
            f"{figures[FIXED]['recall_at_10']:.3f} / {figures[FIXED]['mrr']:.3f}")
        self._record(SIMILAR_RANKER, version, fingerprint, training_requests, [], ranker.chosen,
                     {}, ranker.cv, ACCEPTED, reason, artefact)
        return Registration(version, ACCEPTED, reason)

    def encoder_version(self, fingerprint: str) -> tuple[str, Path]:
        """A new version name for a fine-tuned encoder and the folder to save it in."""
        return self._new_version(ENCODER, fingerprint)

    def register_encoder(self, trial: EncoderTrial, version: str, fingerprint: str,
                         history_requests: int) -> Registration:
        """Store a fine-tuned encoder's row and `metrics.json`: accepted only when it was better
        than the bundled model on the held-out period, else rejected (and its folder removed:
        nothing will load it)."""
        folder = trial.folder
        (folder / "metrics.json").write_text(json.dumps(
            {"version": version, **trial.metrics()}, indent=2, default=float))
        status = ACCEPTED if trial.better else REJECTED
        self._record(ENCODER, version, fingerprint, history_requests, [], "fine_tuned", {},
                     trial.metrics(), status, trial.reason, str(folder))
        if status == REJECTED:
            for path in sorted(folder.rglob("*"), reverse=True):
                if path.name != "metrics.json":
                    path.unlink() if path.is_file() else path.rmdir()
        return Registration(version, status, trial.reason)

    def accepted_encoder(self) -> tuple[Mapping, Path] | None:
        """The serving fine-tuned encoder's row and folder, or None (the bundled model serves)."""
        row = self._latest(ENCODER, ACCEPTED)
        if row is None or not (Path(row["artefact"]) / "config.json").is_file():
            return None
        return row, Path(row["artefact"])

    def _new_version(self, name: str, fingerprint: str) -> tuple[str, Path]:
        version = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{fingerprint[:8]}"
        folder = self.root / name / version
        folder.mkdir(parents=True, exist_ok=True)
        return version, folder

    @staticmethod
    def _pickle(model, folder: Path) -> Path:
        artefact = folder / "model.pkl"
        partial = folder / f".model.{uuid.uuid4().hex[:8]}.part"
        with open(partial, "wb") as handle:
            pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, artefact)
        return artefact

    def _record(self, name: str, version: str, fingerprint: str, training_requests: int,
                teams: list[str], candidate: str, summary: Mapping, metrics: Mapping, status: str,
                reason: str, artefact: Path | str) -> None:
        row = {
            "model_name": name, "version": version, "trained_at": datetime.now(UTC),
            "fingerprint": fingerprint, "training_requests": training_requests, "teams": teams,
            "candidate": candidate,
            **{f"cv_{metric}": summary.get(metric) for metric in SUMMARY},
            "metrics": to_json(json.loads(json.dumps(metrics, default=float))),
            "status": status, "status_reason": reason, "artefact": str(artefact),
        }
        upsert_rows(self.con, MODELS, pd.DataFrame([row]))
        if status == ACCEPTED:  # after the insert: a crash in between leaves two accepted, never none
            self.con.execute(
                f"UPDATE {MODELS.qualified} SET status = ?, status_reason = ? "
                "WHERE model_name = ? AND status = ? AND version <> ?",
                [SUPERSEDED, f"superseded by {version}", name, ACCEPTED, version])

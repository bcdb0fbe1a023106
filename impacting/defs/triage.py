"""Triage: feedback, the team model, similar past projects, team decisions and alerts."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from impacting.defs.metadata import bullet_list, definition_metadata, markdown_table, table_metadata
from impacting.defs.resources import (
    IssueSourceResource,
    LanguageResource,
    TriageResource,
    WarehouseResource,
)
from impacting.language.encoder import EmbeddingCache, ModelUnavailable
from impacting.triage.features import represent
from impacting.triage.feedback import jira_feedback, read_feedback_folder
from impacting.triage.predict import triage as triage_requests
from impacting.triage.registry import ModelRegistry, cv_summary, training_fingerprint
from impacting.triage.similar import SimilarityIndex
from impacting.triage.stage import (
    feedback_rows,
    load_feedback,
    load_requests,
    prediction_rows,
    raise_alerts,
    request_details,
    similar_rows,
    verdicts_for,
)
from impacting.triage.teams import fit_team_model
from impacting.warehouse.store import read_table, replace_rows, upsert_rows
from impacting.warehouse.tables import (
    ALERTS,
    MODELS,
    PROJECTS,
    SIMILAR_PROJECTS,
    TEAM_FEEDBACK,
    TEAM_PREDICTIONS,
)

GROUP = "triage"
# Requests shown in the "at a glance" metadata of team_predictions.
GLANCE_ROWS = 100


def _cache(con, language: LanguageResource) -> EmbeddingCache:
    return EmbeddingCache(con, language.encoder())


def _represent(requests, cache):
    try:
        return represent(requests, cache)
    except ModelUnavailable as error:
        raise dg.Failure(str(error)) from error


def _pool_and_waiting(con, language: LanguageResource, requests):
    """The past projects and the requests awaiting triage as corpora (one embedding cache)."""
    cache = _cache(con, language)
    return _represent(requests.past, cache), _represent(requests.waiting, cache)


def _registry(con, store) -> ModelRegistry:
    return ModelRegistry(con, store.working_dir / "models")


@dg.asset(
    key="team_feedback",
    group_name=GROUP,
    deps=["projects"],
    kinds={"duckdb"},
    description="People's decisions on (request, team): the CSV files in IMPACTING_FEEDBACK_DIR "
    "(request,team,verdict[,author,at,note]) and the team field once Jira has it for a request "
    "the model triaged. Training data for the team model, and overrides of its decisions.",
    metadata=definition_metadata(TEAM_FEEDBACK),
)
def team_feedback(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  triage: TriageResource,
                  issue_source: IssueSourceResource) -> dg.MaterializeResult:
    folder = triage.feedback_folder()
    from_csv, problems = read_feedback_folder(folder)
    for problem in problems:
        context.log.warning(problem)
    with warehouse.open().connect() as con:
        current = dict(con.execute(f"SELECT key, teams FROM {PROJECTS.qualified}").fetchall())
        previous = con.execute(f"SELECT request_key, team, decision FROM {TEAM_PREDICTIONS.qualified}"
                               ).fetchall()
        already = {(k, t) for k, t in con.execute(
            f"SELECT request_key, team FROM {TEAM_FEEDBACK.qualified} WHERE source = 'jira'").fetchall()}
        from_jira = [f for f in jira_feedback(current, previous, issue_source.team_field,
                                              datetime.now(UTC))
                     if (f.request_key, f.team) not in already]
        upsert_rows(con, TEAM_FEEDBACK, feedback_rows([*from_csv, *from_jira]))
        metadata = table_metadata(con, TEAM_FEEDBACK, ["request_key", "team", "verdict", "source",
                                                        "author"])
    return dg.MaterializeResult(metadata=metadata | {
        "feedback_folder": dg.MetadataValue.path(str(folder)),
        "csv_decisions_read": len(from_csv),
        "jira_decisions_new": len(from_jira),
        "problems": dg.MetadataValue.md(bullet_list(problems)),
    })


@dg.asset(
    key="team_model",
    group_name=GROUP,
    deps=["projects", "documents", "chunks", team_feedback],
    kinds={"scikitlearn", "duckdb"},
    description="The team model: candidates (logistic regression on embeddings, on TF-IDF, a "
    "vote of similar past projects, a combination) compared by time-ordered cross-validation "
    "on past projects, the best kept and calibrated, per-team thresholds for the target recall. "
    "Retrained only when the training data changed; a model with worse cross-validated recall "
    "never replaces the accepted one (`models`).",
    metadata=definition_metadata(MODELS),
)
def team_model(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
               language: LanguageResource, triage: TriageResource) -> dg.MaterializeResult:
    store = warehouse.open()
    config = triage.team_model_config()
    with store.connect() as con:
        requests = load_requests(con, load_feedback(con))
        registry = _registry(con, store)
        if not requests.past:
            context.log.warning("no past request has a team yet, so there is no team model: fill "
                                "in the team field (IMPACTING_TEAM_FIELD) of past requests, or "
                                "drop feedback in IMPACTING_FEEDBACK_DIR")
            return dg.MaterializeResult(metadata={"past_requests": 0, "trained": False})
        corpus = _represent(requests.past, _cache(con, language))
        fingerprint = training_fingerprint(corpus, config, language.encoder().model_id)
        trained = registry.needs_training(fingerprint)
        if trained:
            model = fit_team_model(corpus, config, progress=context.log.info)
            registration = registry.register(model, fingerprint, triage.recall_tolerance)
            (context.log.info if registration.status == "accepted" else context.log.warning)(
                f"model {registration.version} {registration.status}: {registration.reason}")
        else:
            context.log.info("training data unchanged since the last model: not retrained")
        row, model = registry.accepted()
        history = con.execute(
            f"SELECT version, status, candidate, training_requests, cv_notify_recall, "
            f"cv_reading_saved, cv_recall_at_3, cv_micro_f1, status_reason "
            f"FROM {MODELS.qualified} ORDER BY trained_at DESC LIMIT 10").df()
        metadata = table_metadata(con, MODELS)
    candidates = pd.DataFrame([
        {"candidate": name, **{k: v for k, v in figures.items() if k != "f1_threshold"}}
        for name, figures in model.cv.get("candidates", {}).items()])
    return dg.MaterializeResult(metadata=metadata | {
        "trained": trained,
        "accepted_version": row["version"],
        "candidate": model.chosen,
        "past_requests": len(model.training_keys),
        "teams": len(model.teams),
        "teams_on_similarity_vote": int(model.rare.sum()),
        **{f"cv_{k}": dg.MetadataValue.float(float(v)) for k, v in cv_summary(model).items()
           if v is not None},
        "cv_candidates": dg.MetadataValue.md(markdown_table(candidates.round(3)) if len(candidates)
                                             else "no cross-validation (one past request)"),
        "models": dg.MetadataValue.md(markdown_table(history.round(3), width=160)),
    })


@dg.asset(
    key="similar_projects",
    group_name=GROUP,
    deps=["projects", "documents", "chunks", team_feedback],
    kinds={"duckdb"},
    description="For every request awaiting triage, the past projects it resembles most: words "
    "(TF-IDF) and meaning (sentence embeddings) fused, at most IMPACTING_SIMILAR_TOP_K and only "
    "above IMPACTING_SIMILAR_MIN_SCORE, with their teams, people and outcome.",
    metadata=definition_metadata(SIMILAR_PROJECTS),
)
def similar_projects(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                     language: LanguageResource, triage: TriageResource) -> dg.MaterializeResult:
    similar = triage.similar_config()
    with warehouse.open().connect() as con:
        requests = load_requests(con, load_feedback(con))
        pool, waiting = _pool_and_waiting(con, language, requests)
        index = SimilarityIndex(pool, similar.lexical_weight)
        matches = index.search(waiting, top_k=similar.top_k, min_score=similar.min_score)
        rows = similar_rows(waiting, matches, pool, requests.details, requests.teams_of(),
                            index.template)
        replace_rows(con, SIMILAR_PROJECTS, rows)
        metadata = table_metadata(con, SIMILAR_PROJECTS, ["request_key", "rank", "similar_key",
                                                           "score", "teams"])
    counts = [len(m) for m in matches]
    return dg.MaterializeResult(metadata=metadata | {
        "requests_awaiting_triage": len(requests.waiting),
        "past_projects": len(requests.past),
        "requests_without_match": sum(1 for n in counts if n == 0),
        "matches_per_request": dg.MetadataValue.float(sum(counts) / len(counts) if counts else 0.0),
        "min_score": similar.min_score,
        "top_k": similar.top_k,
    })


def _glance(predictions: pd.DataFrame, similar: pd.DataFrame, details: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key in list(dict.fromkeys(predictions["request_key"]))[:GLANCE_ROWS]:
        mine = predictions[predictions["request_key"] == key]

        def teams(decision: str, frame: pd.DataFrame = mine) -> str:
            chosen = frame[frame["decision"] == decision]
            return ", ".join(f"{t} ({p:.2f})" if p is not None and not pd.isna(p) else t
                             for t, p in zip(chosen["team"], chosen["probability"], strict=True))

        matches = similar[similar["request_key"] == key].head(3)
        rows.append({
            "request": key,
            "summary": details.loc[key, "summary"] if key in details.index else "",
            "notify": teams("notify") or "—",
            "unsure": teams("unsure") or "—",
            "similar": ", ".join(f"{k} ({s:.2f})" for k, s in
                                 zip(matches["similar_key"], matches["score"], strict=True)) or "none",
        })
    return pd.DataFrame(rows)


@dg.asset(
    key="team_predictions",
    group_name=GROUP,
    deps=[team_model, similar_projects, team_feedback],
    kinds={"duckdb"},
    description="For every request awaiting triage and every team: the calibrated probability "
    "that the team is impacted and the decision (notify / unsure / not_notified) against the "
    "team's cross-validated thresholds, with the reason: the passages that most support the team "
    "and the similar past projects that involved it. People's feedback overrides the model.",
    metadata=definition_metadata(TEAM_PREDICTIONS),
)
def team_predictions(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                     language: LanguageResource, triage: TriageResource) -> dg.MaterializeResult:
    store = warehouse.open()
    similar = triage.similar_config()
    with store.connect() as con:
        feedback = load_feedback(con)
        requests = load_requests(con, feedback)
        accepted = _registry(con, store).accepted()
        if accepted is None:
            context.log.warning("no accepted team model (see team_model): no team decisions")
            replace_rows(con, TEAM_PREDICTIONS, pd.DataFrame(columns=list(TEAM_PREDICTIONS.column_names)))
            return dg.MaterializeResult(metadata={"dagster/row_count": 0})
        row, model = accepted
        pool, waiting = _pool_and_waiting(con, language, requests)
        index = SimilarityIndex(pool, similar.lexical_weight)
        result = triage_requests(model, index, waiting, requests.teams_of(), similar,
                                 verdicts_for(feedback))
        predictions = prediction_rows(result, row["version"], datetime.now(UTC))
        replace_rows(con, TEAM_PREDICTIONS, predictions)
        metadata = table_metadata(con, TEAM_PREDICTIONS, ["request_key", "team", "probability",
                                                           "decision", "reason"])
        glance = _glance(read_table(con, TEAM_PREDICTIONS, "ORDER BY request_key, rank"),
                         read_table(con, SIMILAR_PROJECTS, "ORDER BY request_key, rank"),
                         requests.details)
    decided = predictions["decision"].value_counts().to_dict() if len(predictions) else {}
    n = max(len(requests.waiting), 1)
    return dg.MaterializeResult(metadata=metadata | {
        "model_version": row["version"],
        "requests_awaiting_triage": len(requests.waiting),
        "notify_per_request": dg.MetadataValue.float(decided.get("notify", 0) / n),
        "unsure_per_request": dg.MetadataValue.float(decided.get("unsure", 0) / n),
        "overridden_by_feedback": int((predictions["decided_by"] == "feedback").sum())
        if len(predictions) else 0,
        "at_a_glance": dg.MetadataValue.md(markdown_table(glance, width=300) if len(glance)
                                           else "no request awaiting triage"),
    })


@dg.asset(
    key="alerts",
    group_name=GROUP,
    deps=[team_predictions, similar_projects],
    kinds={"duckdb"},
    description="Alerts for requests awaiting triage: the teams to notify and the people who "
    "delivered the most similar past projects, each recipient once per request across runs; "
    "POSTed to IMPACTING_ALERT_WEBHOOK_URL when it is set (nothing is sent otherwise).",
    metadata=definition_metadata(ALERTS),
)
def alerts(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
           triage: TriageResource) -> dg.MaterializeResult:
    webhook = triage.webhook_url or None
    with warehouse.open().connect() as con:
        predictions = read_table(con, TEAM_PREDICTIONS)
        version = predictions["model_version"].iloc[0] if len(predictions) else None
        run = raise_alerts(con, predictions, read_table(con, SIMILAR_PROJECTS), request_details(con),
                           version, webhook, datetime.now(UTC))
        upsert_rows(con, ALERTS, run.rows)
        metadata = table_metadata(con, ALERTS, ["request_key", "recipient", "recipient_kind",
                                                "score", "delivery_status"])
    if run.failed:
        context.log.warning(f"{run.failed} alert(s) could not be delivered to the webhook; they "
                            "are retried on the next run (see alerts.delivery_error)")
    return dg.MaterializeResult(metadata=metadata | {
        "alerts_raised": run.raised,
        "delivered": run.sent,
        "delivery_failed": run.failed,
        "retried": run.retried,
        "webhook": "configured" if webhook else "not configured (nothing sent)",
    })


ASSETS = [team_feedback, team_model, similar_projects, team_predictions, alerts]

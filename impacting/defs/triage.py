"""Triage: feedback, the triage corpus, the team model, similar past projects, team decisions and
alerts (recorded here; sending them is the people stage, `impacting.defs.people`)."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from impacting.defs.errors import failures
from impacting.defs.metadata import (
    definition_metadata,
    markdown_table,
    problems_metadata,
    table_key,
    table_metadata,
    table_spec,
)
from impacting.defs.resources import (
    WAREHOUSE_POOL,
    IssueSourceResource,
    LanguageResource,
    PeopleResource,
    TriageResource,
    WarehouseResource,
)
from impacting.defs.reuse import Reuse
from impacting.language.encoder import EmbeddingCache
from impacting.people.experts import experts_by_request
from impacting.settings import var
from impacting.triage.alerts import record_alerts
from impacting.triage.feedback import load_feedback, record_feedback, verdicts_for
from impacting.triage.history import (
    AWAITING,
    PAST,
    build_triage_corpus,
    corpus_requests,
    load_corpus,
    load_template,
    request_details,
    teams_of,
    training_entries,
    write_triage_corpus,
)
from impacting.triage.kept_index import KeptIndex, pool_index
from impacting.triage.predict import triage as decide_teams
from impacting.triage.ranking.serve import find_similar
from impacting.triage.ranking.service import people_of, serving_ranker
from impacting.triage.registry import ModelRegistry, cv_summary, training_fingerprint
from impacting.triage.rows import matches_from_rows, prediction_rows, similar_rows, triage_glance
from impacting.triage.similar import SimilarConfig
from impacting.triage.teams import TeamModelConfig, fit_team_model
from impacting.triage.training import train_similar_ranking, triage_encoder
from impacting.triage.tuning.service import serving_encoder
from impacting.warehouse.store import read_table, replace_rows
from impacting.warehouse.tables import (
    ALERTS,
    CHUNKS,
    DESCRIPTION_CHUNKS,
    DOCUMENTS,
    MODELS,
    PROJECTS,
    SIMILAR_PROJECTS,
    TEAM_FEEDBACK,
    TEAM_PREDICTIONS,
    TEMPLATE_PASSAGES,
    TRIAGE_CORPUS,
)

GROUP = "triage"


def _registry(con, warehouse: WarehouseResource) -> ModelRegistry:
    return ModelRegistry.of_warehouse(con, warehouse.open().working_dir)


@dg.asset(
    pool=WAREHOUSE_POOL,
    key="team_feedback",
    group_name=GROUP,
    deps=["projects"],
    kinds={"duckdb"},
    description=f"People's decisions on (request, team): the CSV files in "
    f"{var('triage.feedback_dir')} (request,team,verdict[,author,at,note]) and the team field once "
    "Jira has it for a request the model triaged (read against the previous run's decisions). "
    "Training data for the team model, and overrides of its decisions.",
    metadata=definition_metadata(TEAM_FEEDBACK),
)
def team_feedback(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  triage: TriageResource, issue_source: IssueSourceResource) -> dg.MaterializeResult:
    folder = triage.settings().feedback_dir
    with warehouse.open().connect() as con:
        run = record_feedback(con, folder, issue_source.settings().team_field, datetime.now(UTC))
        metadata = table_metadata(con, TEAM_FEEDBACK, ["request_key", "team", "verdict", "source",
                                                        "author"])
    for problem in run.problems:
        context.log.warning(problem)
    return dg.MaterializeResult(metadata=metadata | {
        "feedback_folder": dg.MetadataValue.path(str(folder)),
        "csv_decisions_read": run.csv_decisions,
        "jira_decisions_new": run.jira_decisions_new,
        **problems_metadata(run.problems),
    })


CORPUS_SPECS = [
    table_spec(TRIAGE_CORPUS, group_name=GROUP, deps=["projects", "documents", "chunks", team_feedback],
               kinds={"duckdb"},
               description="The requests as triage sees them, built once per run: past projects "
               "(teams known, feedback applied) and requests awaiting triage, each read from its "
               "description and its documents' chunks. The team model, the similar-project search, "
               "team decisions and briefs all read this."),
    table_spec(DESCRIPTION_CHUNKS, group_name=GROUP, kinds={"duckdb"}),
    table_spec(TEMPLATE_PASSAGES, group_name=GROUP, kinds={"duckdb"}),
]


CORPUS_TABLES = (TRIAGE_CORPUS, DESCRIPTION_CHUNKS, TEMPLATE_PASSAGES)
# What the similarity search and the decisions read of the corpus (its passages' chunks, the
# requests' details in projects).
CORPUS_INPUTS = (*CORPUS_TABLES, CHUNKS, PROJECTS)


@dg.multi_asset(pool=WAREHOUSE_POOL, specs=CORPUS_SPECS, name="triage_corpus_build",
                description="The triage corpus, its description chunks and template sentences, "
                "built together once per run.")
def triage_corpus(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  language: LanguageResource, triage: TriageResource):
    with failures(), warehouse.open().connect() as con:
        encoder = serving_encoder(_registry(con, warehouse), language.encoder(), triage.settings().encoder)
        reuse = Reuse(context, con, [PROJECTS, DOCUMENTS, CHUNKS, TEAM_FEEDBACK], CORPUS_TABLES,
                      model=encoder.model_id)
        if reuse.previous:
            yield from reuse.results()
            return
        build = build_triage_corpus(con, load_feedback(con))
        embedded = write_triage_corpus(con, build, EmbeddingCache(con, encoder))
        recorded = reuse.record(con)
        metadata = {declared.name: table_metadata(con, declared) for declared in
                    (DESCRIPTION_CHUNKS, TEMPLATE_PASSAGES)}
        metadata[TRIAGE_CORPUS.name] = table_metadata(
            con, TRIAGE_CORPUS, ["key", "title", "is_past", "awaiting_triage", "teams", "passages"])
    context.log.info(f"built the past-project view once for this run: {build.past} past projects, "
                     f"{build.awaiting} awaiting triage, {len(build.template)} template sentences")
    yield dg.MaterializeResult(asset_key=table_key(TRIAGE_CORPUS), metadata=metadata[TRIAGE_CORPUS.name]
                               | recorded | {
        "past_projects": build.past,
        "awaiting_triage": build.awaiting,
        "texts_embedded": embedded,
    })
    yield dg.MaterializeResult(asset_key=table_key(DESCRIPTION_CHUNKS),
                               metadata=metadata[DESCRIPTION_CHUNKS.name] | recorded)
    yield dg.MaterializeResult(asset_key=table_key(TEMPLATE_PASSAGES),
                               metadata=metadata[TEMPLATE_PASSAGES.name] | recorded
                               | {"template_sentences": len(build.template)})


@dg.asset(
    pool=WAREHOUSE_POOL,
    key="team_model",
    group_name=GROUP,
    deps=["triage_corpus", table_key(DESCRIPTION_CHUNKS), table_key(TEMPLATE_PASSAGES)],
    kinds={"scikitlearn", "duckdb"},
    description="The team model: candidates (logistic regression on embeddings, on TF-IDF, a "
    "vote of similar past projects, a combination) compared by time-ordered cross-validation "
    "on past projects, the best kept and calibrated, per-team thresholds for the target recall. "
    "Retrained only when the training data changed (fingerprinted from the triage corpus before "
    "any vector is read); a model with worse cross-validated recall never replaces the accepted "
    "one (`models`).",
    metadata=definition_metadata(MODELS),
)
def team_model(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
               language: LanguageResource, triage: TriageResource) -> dg.MaterializeResult:
    settings = triage.settings()
    config = TeamModelConfig.from_settings(settings)
    with failures(), warehouse.open().connect() as con:
        reuse = Reuse(context, con, [*CORPUS_INPUTS, TEAM_FEEDBACK], [MODELS],
                      model=language.encoder().model_id, config=config, tolerance=settings.recall_tolerance)
        if reuse.previous:
            return reuse.results()[0]
        past = corpus_requests(con, PAST)
        registry = _registry(con, warehouse)
        if not len(past):
            context.log.warning(f"no past request has a team yet, so there is no team model: fill "
                                f"in the team field ({var('source.team_field')}) of past requests, or "
                                f"drop feedback in {var('triage.feedback_dir')}")
            return dg.MaterializeResult(metadata={"past_requests": 0, "trained": False})
        encoder = triage_encoder(con, registry, language.encoder(), past, settings, context.log.info)
        fingerprint = training_fingerprint(training_entries(past), config, encoder.model_id)
        trained = registry.needs_training(fingerprint)
        corpus = None
        if trained:
            corpus = load_corpus(con, EmbeddingCache(con, encoder), PAST)
            model = fit_team_model(corpus, config, progress=context.log.info,
                                   template=load_template(con))
            registration = registry.register(model, fingerprint, settings.recall_tolerance)
            (context.log.info if registration.status == "accepted" else context.log.warning)(
                f"model {registration.version} {registration.status}: {registration.reason}")
        else:
            context.log.info("training data unchanged since the last model: not retrained")
        ranking = train_similar_ranking(con, registry, EmbeddingCache(con, encoder), fingerprint,
                                        settings, context.log.info, kept_index(warehouse, settings),
                                        past, pool=corpus)
        row, model = registry.accepted()
        history = con.execute(
            f"SELECT model_name, version, status, candidate, training_requests, cv_notify_recall, "
            f"cv_reading_saved, cv_recall_at_3, cv_micro_f1, status_reason "
            f"FROM {MODELS.qualified} ORDER BY trained_at DESC LIMIT 10").df()
        metadata = table_metadata(con, MODELS) | reuse.record(con)
    candidates = pd.DataFrame([
        {"candidate": name, **{k: v for k, v in figures.items() if k != "f1_threshold"}}
        for name, figures in model.cv.get("candidates", {}).items()])
    return dg.MaterializeResult(metadata=metadata | {
        "trained": trained,
        "encoder": encoder.model_id,
        "similar_ranking": ranking,
        "accepted_version": row["version"],
        "candidate": model.chosen,
        "past_requests": len(model.training_keys),
        "teams": len(model.teams),
        "teams_on_similarity_vote": int(model.rare.sum()),
        # Whether the history supports the recall target within the reading budget, in words.
        "history": (model.cv.get("history") or {}).get("message", "not cross-validated"),
        **{f"cv_{k}": dg.MetadataValue.float(float(v)) for k, v in cv_summary(model).items()
           if v is not None},
        "cv_candidates": dg.MetadataValue.md(markdown_table(candidates.round(3)) if len(candidates)
                                             else "no cross-validation (one past request)"),
        "models": dg.MetadataValue.md(markdown_table(history.round(3), width=160)),
    })


def kept_index(warehouse: WarehouseResource, settings) -> KeptIndex:
    """The similarity index kept in the working folder between runs (`team_model` trains the
    similar ranking on it, `similar_projects` searches it)."""
    return KeptIndex(warehouse.settings().working_dir / "similarity-index",
                     settings.similar_index_rebuild_growth)


@dg.asset(
    pool=WAREHOUSE_POOL,
    key="similar_projects",
    group_name=GROUP,
    deps=["triage_corpus", table_key(DESCRIPTION_CHUNKS), table_key(TEMPLATE_PASSAGES), team_model],
    kinds={"duckdb"},
    description=f"For every request awaiting triage, the past projects it resembles most: words "
    f"(TF-IDF) and meaning (sentence embeddings) fused, at most {var('triage.similar_top_k')} and "
    f"only above {var('triage.similar_min_score')}, with their teams, people and outcome. The one "
    "similarity search of a run: team decisions cite these matches. With the learned ranking "
    f"({var('triage.similar_ranking')}), the fused search's best candidates are reordered by the "
    "probability of being related learned from past links (`team_model` trains it).",
    metadata=definition_metadata(SIMILAR_PROJECTS),
)
def similar_projects(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                     language: LanguageResource, triage: TriageResource) -> dg.MaterializeResult:
    settings = triage.settings()
    similar = SimilarConfig.from_settings(settings)
    with failures(), warehouse.open().connect() as con:
        registry = _registry(con, warehouse)
        encoder = serving_encoder(registry, language.encoder(), settings.encoder)
        # The learned ranker lives in `models`: a new one changes the ranking.
        reuse = Reuse(context, con, [*CORPUS_INPUTS, MODELS], [SIMILAR_PROJECTS], model=encoder.model_id,
                      similar=similar)
        if reuse.previous:
            return reuse.results()[0]
        cache = EmbeddingCache(con, encoder)
        pool, waiting = load_corpus(con, cache, PAST), load_corpus(con, cache, AWAITING)
        past = corpus_requests(con, PAST)
        index, kept = pool_index(kept_index(warehouse, settings), pool, past["text_sha256"].tolist(),
                                 load_template(con), lexical_weight=similar.lexical_weight,
                                 candidates=similar.candidates, model_id=encoder.model_id)
        context.log.info(kept.describe())
        ranker = serving_ranker(registry, settings.similar_ranking)
        matches = find_similar(index, waiting, pool, top_k=similar.top_k, min_score=similar.min_score,
                               ranker=ranker, people=people_of(request_details(con)))
        rows = similar_rows(waiting, matches, pool, request_details(con),
                            teams_of(past), index.template)
        replace_rows(con, SIMILAR_PROJECTS, rows)
        metadata = table_metadata(con, SIMILAR_PROJECTS, ["request_key", "rank", "similar_key",
                                                           "score", "teams"]) | reuse.record(con)
    counts = [len(m) for m in matches]
    return dg.MaterializeResult(metadata=metadata | {
        "requests_awaiting_triage": len(waiting),
        "past_projects": len(pool),
        "requests_without_match": sum(1 for n in counts if n == 0),
        "matches_per_request": dg.MetadataValue.float(sum(counts) / len(counts) if counts else 0.0),
        "min_score": similar.min_score,
        "top_k": similar.top_k,
        "ranking": ranker.chosen if ranker is not None else "fixed_fusion",
        "similarity_index": kept.action,
        "similarity_index_seconds": dg.MetadataValue.float(round(kept.seconds, 2)),
    })


@dg.asset(
    pool=WAREHOUSE_POOL,
    key="team_predictions",
    group_name=GROUP,
    deps=[team_model, similar_projects, "triage_corpus", team_feedback],
    kinds={"duckdb"},
    description="For every request awaiting triage and every team: the calibrated probability "
    "that the team is impacted and the decision (notify / unsure / not_notified) against the "
    "team's cross-validated thresholds, with the reason: the passages that most support the team "
    "and the similar past projects that involved it. People's feedback overrides the model.",
    metadata=definition_metadata(TEAM_PREDICTIONS),
)
def team_predictions(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                     language: LanguageResource, triage: TriageResource) -> dg.MaterializeResult:
    with failures(), warehouse.open().connect() as con:
        reuse = Reuse(context, con, [*CORPUS_INPUTS, MODELS, SIMILAR_PROJECTS, TEAM_FEEDBACK],
                      [TEAM_PREDICTIONS], model=language.encoder().model_id)
        if reuse.previous:
            return reuse.results()[0]
        accepted = _registry(con, warehouse).accepted()
        if accepted is None:
            context.log.warning("no accepted team model (see team_model): no team decisions")
            replace_rows(con, TEAM_PREDICTIONS, pd.DataFrame(columns=list(TEAM_PREDICTIONS.column_names)))
            return dg.MaterializeResult(metadata={"dagster/row_count": 0})
        row, model = accepted
        encoder = serving_encoder(_registry(con, warehouse), language.encoder(),
                                  triage.settings().encoder)
        waiting = load_corpus(con, EmbeddingCache(con, encoder), AWAITING)
        similar = read_table(con, SIMILAR_PROJECTS)
        result = decide_teams(model, waiting, matches_from_rows(similar, waiting.keys),
                              teams_of(corpus_requests(con, PAST)), verdicts_for(load_feedback(con)),
                              template=load_template(con))
        predictions = prediction_rows(result, row["version"], datetime.now(UTC))
        replace_rows(con, TEAM_PREDICTIONS, predictions)
        metadata = table_metadata(con, TEAM_PREDICTIONS, ["request_key", "team", "probability",
                                                           "decision", "reason"]) | reuse.record(con)
        glance = triage_glance(read_table(con, TEAM_PREDICTIONS, "ORDER BY request_key, rank"),
                               read_table(con, SIMILAR_PROJECTS, "ORDER BY request_key, rank"),
                               request_details(con))
    decided = predictions["decision"].value_counts().to_dict() if len(predictions) else {}
    n = max(len(waiting), 1)
    return dg.MaterializeResult(metadata=metadata | {
        "model_version": row["version"],
        "requests_awaiting_triage": len(waiting),
        "notify_per_request": dg.MetadataValue.float(decided.get("notify", 0) / n),
        "unsure_per_request": dg.MetadataValue.float(decided.get("unsure", 0) / n),
        "overridden_by_feedback": int((predictions["decided_by"] == "feedback").sum())
        if len(predictions) else 0,
        "at_a_glance": dg.MetadataValue.md(markdown_table(glance, width=300) if len(glance)
                                           else "no request awaiting triage"),
    })


@dg.asset(
    pool=WAREHOUSE_POOL,
    key="alerts",
    group_name=GROUP,
    deps=[team_predictions, similar_projects, "projects", "status_changes"],
    kinds={"duckdb"},
    description="Alerts for requests awaiting triage: the teams to notify, the people who did the "
    "most of the similar past projects' work (the projects and the stories, tasks and sub-tasks "
    f"under them; inactive for over {var('people.inactive_days')} days: left out), and the unsure "
    "teams for the triage lead to decide; each recipient once per request across runs. Recorded "
    "here; sending them is `send_digests` (group people).",
    metadata=definition_metadata(ALERTS),
)
def alerts(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
           people: PeopleResource) -> dg.MaterializeResult:
    settings = people.settings()
    with warehouse.open().connect() as con:
        predictions = read_table(con, TEAM_PREDICTIONS)
        version = predictions["model_version"].iloc[0] if len(predictions) else None
        experts = experts_by_request(con, settings.inactive_days, settings.people_per_request)
        raised = record_alerts(con, predictions, experts, version, datetime.now(UTC))
        metadata = table_metadata(con, ALERTS, ["request_key", "recipient", "recipient_kind", "score"])
        kinds = dict(con.execute(f"SELECT recipient_kind, count(*) FROM {ALERTS.qualified} GROUP BY 1"
                                 ).fetchall())
    context.log.info(f"{raised} new alert(s) recorded")
    return dg.MaterializeResult(metadata=metadata | {
        "alerts_raised": raised,
        "requests_with_people": len(experts),
        **{f"alerts_{kind}": int(n) for kind, n in sorted(kinds.items())},
    })


ASSETS = [team_feedback, triage_corpus, team_model, similar_projects, team_predictions, alerts]

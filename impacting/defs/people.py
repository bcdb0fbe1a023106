"""The people stage in Dagster: what each request becomes for the people who read it (its own
summaries, its brief, the site) and the only steps that talk to people (digests, Jira comments).
Messages link to the briefs, so they are sent after the site is published."""


import time
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from impacting.defs.errors import failures
from impacting.defs.metadata import (
    bullet_list,
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
    SiteResource,
    TriageResource,
    WarehouseResource,
)
from impacting.defs.reuse import Reuse, file_state
from impacting.language.encoder import EmbeddingCache
from impacting.people.channels import Sender
from impacting.people.insight import index_insight, request_themes
from impacting.people.jira_comments import comment_on_requests
from impacting.people.messages import deliver, known_recipients
from impacting.people.nightly import gather_briefs, summarise_requests
from impacting.people.paths import DELIVERY, INDEX
from impacting.people.rows import brief_rows, briefs_from_rows
from impacting.people.site import SiteFolder
from impacting.people.site_pages import newest_first, site_files
from impacting.settings import var
from impacting.sources.http_retry import RetryPolicy
from impacting.triage.registry import ModelRegistry
from impacting.triage.tuning.service import serving_encoder
from impacting.warehouse.store import read_table, replace_rows
from impacting.warehouse.tables import (
    ALERT_DELIVERIES,
    BRIEFS,
    CHUNKS,
    DELIVERY_ISSUE_TIMES,
    DESCRIPTION_CHUNKS,
    DOCUMENTS,
    IMPACTING_FUNNEL,
    IMPACTING_FUNNEL_WEEKLY,
    JIRA_COMMENTS,
    KEYWORDS,
    MESSAGES,
    MODELS,
    PROJECT_THEMES,
    PROJECTS,
    REQUEST_SUMMARIES,
    SIMILAR_PROJECTS,
    TEAM_PREDICTIONS,
    TEMPLATE_PASSAGES,
    THEME_SELECTION,
    THEME_TRENDS,
    THEMES,
    TRIAGE_CORPUS,
)

GROUP = "people"
# What a request's summaries are made of (the triage corpus's passages).
REQUEST_INPUTS = (TRIAGE_CORPUS, DESCRIPTION_CHUNKS, TEMPLATE_PASSAGES, CHUNKS, PROJECTS)
# Everything a brief reads, and what the site's pages read besides the briefs.
BRIEF_INPUTS = (*REQUEST_INPUTS, REQUEST_SUMMARIES, TEAM_PREDICTIONS, SIMILAR_PROJECTS, MODELS, KEYWORDS,
                THEMES, PROJECT_THEMES, DOCUMENTS, DELIVERY_ISSUE_TIMES)
SITE_INPUTS = (BRIEFS, MODELS, THEMES, PROJECT_THEMES, THEME_TRENDS, THEME_SELECTION, IMPACTING_FUNNEL,
               IMPACTING_FUNNEL_WEEKLY)
SITE_KEY = dg.AssetKey("site")
# Briefs shown in full in the UI, newest first.
SHOWN_BRIEFS = 3


@dg.asset(
    pool=WAREHOUSE_POOL,
    key="request_summaries",
    group_name=GROUP,
    deps=["triage_corpus", table_key(DESCRIPTION_CHUNKS), table_key(TEMPLATE_PASSAGES), "chunks"],
    kinds={"duckdb"},
    description=f"For every request awaiting triage, one executive (~{var('language.executive_words')} "
    "words) and one standard summary of the request as a whole: its description and documents "
    "read together, the main design document first. From the triage corpus's cached vectors; "
    "nothing is embedded again.",
    metadata=definition_metadata(REQUEST_SUMMARIES),
)
def request_summaries(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                      language: LanguageResource) -> dg.MaterializeResult:
    with failures(), warehouse.open().connect() as con:
        reuse = Reuse(context, con, REQUEST_INPUTS, [REQUEST_SUMMARIES], model=language.encoder().model_id,
                      settings=language.model_dump())
        if reuse.previous:
            return reuse.results()[0]
        run = summarise_requests(con, EmbeddingCache(con, language.encoder()), language.config())
        metadata = table_metadata(con, REQUEST_SUMMARIES, ["request_key", "kind", "words", "parts", "text"]) \
            | reuse.record(con)
    for problem in run.problems:
        context.log.warning(problem)
    return dg.MaterializeResult(metadata=metadata | {
        "requests": run.requests - len(run.failed),
        **problems_metadata(run.problems),
    })


@dg.asset(
    pool=WAREHOUSE_POOL,
    key="briefs",
    group_name=GROUP,
    deps=[request_summaries, "team_predictions", "similar_projects", "team_model", "keywords", "themes",
          "documents", "delivery_issue_times"],
    kinds={"duckdb"},
    description="One brief per request awaiting triage, the page a team lead reads in two "
    "minutes: executive summary, keywords, the teams to read with their evidence and the "
    "sections each should read, the unsure teams, similar past projects with who delivered them "
    "and how long they took, the standard summary, document problems and the model behind it. "
    "Read from what the earlier steps stored; only the sections to read are new (from the "
    "accepted model's per-passage support). The newest briefs are shown here in full.",
    metadata=definition_metadata(BRIEFS),
)
def briefs(context: dg.AssetExecutionContext, warehouse: WarehouseResource, language: LanguageResource,
           triage: TriageResource) -> dg.MaterializeResult:
    now = datetime.now(UTC)
    started = time.perf_counter()
    with failures(), warehouse.open().connect() as con:
        registry = ModelRegistry.of_warehouse(con, warehouse.open().working_dir)
        # The encoder the team model reads with (a promoted fine-tuned one, in `tuned` mode).
        encoder = serving_encoder(registry, language.encoder(), triage.settings().encoder)
        reuse = Reuse(context, con, BRIEF_INPUTS, [BRIEFS], model=encoder.model_id,
                      min_score=triage.settings().similar_min_score,
                      keywords=language.settings().keyword_count)
        if reuse.previous:
            return reuse.results()[0]
        run = gather_briefs(con, EmbeddingCache(con, encoder), registry, now,
                            min_score=triage.settings().similar_min_score,
                            keywords=language.settings().keyword_count, themes=request_themes(con))
        rows = brief_rows(run.briefs, run.model_version, now)
        if run.failed:
            previous = read_table(con, BRIEFS)
            rows = pd.concat([rows, previous[previous["request_key"].isin(run.failed)]], ignore_index=True)
        replace_rows(con, BRIEFS, rows)
        metadata = table_metadata(con, BRIEFS) | reuse.record(con)
    seconds = time.perf_counter() - started
    for problem in run.problems:
        context.log.warning(problem)
    context.log.info(f"{len(run.briefs)} briefs in {seconds:.1f} s")
    newest = newest_first(run.briefs)
    glance = pd.DataFrame([{"request": b.key, "title": b.title,
                            "teams to read": ", ".join(t.team for t in b.notified) or "—",
                            "unsure": ", ".join(t.team for t in b.unsure) or "—"} for b in newest])
    markdown = dict(zip(rows["request_key"], rows["markdown"], strict=True))
    return dg.MaterializeResult(metadata=metadata | {
        "model_version": run.model_version or "none yet",
        "seconds_per_brief": dg.MetadataValue.float(seconds / len(run.briefs) if run.briefs else 0.0),
        "at_a_glance": dg.MetadataValue.md(markdown_table(glance, width=200) if len(glance)
                                           else "no request awaiting triage"),
        **problems_metadata(run.problems),
    } | {f"newest_{n}": dg.MetadataValue.md(markdown[b.key])
         for n, b in enumerate(newest[:SHOWN_BRIEFS], start=1)})


@dg.asset(
    pool=WAREHOUSE_POOL,
    key=SITE_KEY,
    group_name=GROUP,
    deps=[briefs, "delivery_report", "impacting_funnel", "themes", "theme_selection"],
    kinds={"html"},
    description=f"The site people open ({var('site.site_dir')}, default `site/`): `index.html` (open "
    "requests, newest first, with their teams), `briefs/<KEY>.html` and `.md`, `teams/<team>.html` "
    "(each team's inbox) and `delivery.html`, published in one step so a reader never sees half a "
    "run. Any web server or file share can serve the folder.",
)
def publish_site(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                 site: SiteResource) -> dg.MaterializeResult:
    folder = SiteFolder(site.settings().site_dir)
    started = time.perf_counter()

    def built() -> dict:  # the build the site points at, and the delivery report it carries
        current = folder.current()
        return {"build": str(current), **file_state(folder.path / DELIVERY)}

    with warehouse.open().connect() as con:
        reuse = Reuse(context, con, SITE_INPUTS, [], built, site=str(site.settings().site_dir))
        if reuse.previous:
            return reuse.results()[0]
        stored = briefs_from_rows(read_table(con, BRIEFS))
        model = con.execute(f"SELECT version, teams FROM {MODELS.qualified} WHERE status = 'accepted' "
                            "ORDER BY trained_at DESC LIMIT 1").fetchone()
        insight = index_insight(con)
    current = folder.current()
    delivery = current is not None and (current / DELIVERY).is_file()
    teams = list(model[1]) if model else []
    files = site_files(stored, teams, datetime.now(UTC).isoformat(timespec="seconds"), delivery,
                       f"team model {model[0]}" if model else "no team model yet", insight)
    with failures():
        published = folder.publish(files)
    with warehouse.open().connect() as con:
        recorded = reuse.record(con)
    seconds = time.perf_counter() - started
    context.log.info(f"published {published.files} pages to {published.path} ({published.build.name})")
    return dg.MaterializeResult(metadata=recorded | {
        "path": dg.MetadataValue.path(str(published.path / INDEX)),
        "build": published.build.name,
        "pages": published.files,
        "briefs": len(stored),
        "team_pages": sum(1 for name in files if name.startswith("teams/")),
        "delivery_report": "included" if delivery else "not yet written",
        "seconds_per_brief": dg.MetadataValue.float(seconds / len(stored) if stored else 0.0),
    })



MESSAGE_SPECS = [
    table_spec(ALERT_DELIVERIES, group_name=GROUP, deps=["alerts", SITE_KEY], kinds={"duckdb"}),
    table_spec(MESSAGES, group_name=GROUP, deps=["alerts", SITE_KEY], kinds={"duckdb"}),
]


@dg.multi_asset(
    pool=WAREHOUSE_POOL,
    specs=MESSAGE_SPECS, name="send_digests",
    description=f"Sends each recipient one digest per run (per channel) listing all its new "
    f"requests, routed by the routing file ({var('people.routing_file')}; without it, everything to "
    f"{var('triage.alert_webhook_url')}), and records where every alert stands. The only step "
    "that sends messages; a failing channel is recorded and retried next run, never fails the run.")
def send_digests(context: dg.AssetExecutionContext, warehouse: WarehouseResource, people: PeopleResource,
                 triage: TriageResource):
    settings = people.settings()
    with failures():
        routing = people.routing(triage.settings().alert_webhook_url)
    sender = Sender(routing, timeout=settings.timeout_seconds,
                    policy=RetryPolicy(max_retries=settings.retries, base_delay=settings.retry_base_seconds,
                                       max_delay=max(30.0, settings.retry_base_seconds),
                                       max_wait=settings.max_wait_seconds),
                    warn=context.log.warning)
    with warehouse.open().connect() as con:
        try:
            run = deliver(con, routing, sender.send, datetime.now(UTC),
                          max_attempts=settings.max_attempts,
                          feedback_dir=str(triage.settings().feedback_dir), log=context.log.warning)
        finally:
            sender.close()
        teams, persons = known_recipients(con)
        states = con.execute(f"SELECT state, count(*) FROM {ALERT_DELIVERIES.qualified} GROUP BY 1"
                             ).fetchall()
        deliveries = table_metadata(con, ALERT_DELIVERIES, ["request_key", "recipient_kind", "recipient",
                                                            "channel", "state", "attempts", "error"])
        messages = table_metadata(con, MESSAGES)
    unknown = routing.unknown_recipients(teams, persons)
    unset = [f"{routing.source}: environment variable {name} is not set; messages needing it fail"
             for name in routing.unset_variables()]
    for line in [*unknown, *unset, *routing.warnings]:
        context.log.warning(line)
    for line in run.gave_up:
        context.log.error(f"gave up after {settings.max_attempts} runs: {line}")
    by_state = dict(states)
    shown = ("route", "channel", "destination", "state", "alerts", "error")
    this_run = pd.DataFrame([{k: m[k] for k in shown} | {"requests": len(m["requests"])}
                             for m in run.messages])
    yield dg.MaterializeResult(asset_key=table_key(ALERT_DELIVERIES), metadata=deliveries | {
        "routing": routing.source,
        "alerts_sent": run.alerts_sent,
        "alerts_failed": run.alerts_failed,
        "alerts_suppressed_backlog": run.newly_suppressed,
        "alerts_without_route": run.waiting_without_route,
        "gave_up_this_run": dg.MetadataValue.md(bullet_list(run.gave_up)),
        "states": dg.MetadataValue.md(markdown_table(pd.DataFrame(
            {"state": list(by_state), "rows": list(by_state.values())}))),
        "unknown_recipients": dg.MetadataValue.md(bullet_list(unknown)),
        "routing_warnings": dg.MetadataValue.md(bullet_list([*unset, *routing.warnings])),
    })
    yield dg.MaterializeResult(asset_key=table_key(MESSAGES), metadata=messages | {
        "messages_sent": run.sent,
        "messages_failed": run.failed,
        "this_run": dg.MetadataValue.md(markdown_table(this_run, width=120) if len(this_run)
                                        else "nothing to send"),
    })


@dg.asset(
    pool=WAREHOUSE_POOL,
    key=table_key(JIRA_COMMENTS),
    group_name=GROUP,
    deps=["alerts", "team_predictions"],
    kinds={"duckdb"},
    description=f"With {var('people.jira_comment')}=true and a live Jira: one comment on each "
    "triaged request naming its decided teams and linking its brief, never twice (an earlier "
    "comment of ours is looked for first). Off by default.",
    metadata=definition_metadata(JIRA_COMMENTS),
)
def jira_comments(context: dg.AssetExecutionContext, warehouse: WarehouseResource, people: PeopleResource,
                  triage: TriageResource, issue_source: IssueSourceResource) -> dg.MaterializeResult:
    settings = people.settings()
    with warehouse.open().connect() as con:
        if not settings.jira_comment:
            return dg.MaterializeResult(metadata=table_metadata(con, JIRA_COMMENTS) | {
                "enabled": False})
        source = issue_source.settings()
        if source.kind != "jira":
            context.log.warning(f"{var('people.jira_comment')} is on but the source is an export "
                                "folder: there is no Jira to comment on")
            return dg.MaterializeResult(metadata=table_metadata(con, JIRA_COMMENTS) | {
                "enabled": True, "commented": 0})
        with failures():
            routing = people.routing(triage.settings().alert_webhook_url)
            run = comment_on_requests(con, issue_source.open(log=context.log), routing,
                                      datetime.now(UTC), max_attempts=settings.max_attempts)
        metadata = table_metadata(con, JIRA_COMMENTS, ["request_key", "state", "teams", "error"])
    for problem in run.problems:
        context.log.warning(problem)
    return dg.MaterializeResult(metadata=metadata | {
        "enabled": True, "posted": run.posted, "found_already": run.found, "failed": run.failed,
        **problems_metadata(run.problems),
    })


ASSETS = [request_summaries, briefs, publish_site, send_digests, jira_comments]

"""People: what each request becomes for the people who read it. Its own summaries, its brief
(a table), and the site (the one step here that writes what people open)."""

import time
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from impacting.defs.errors import failures
from impacting.defs.metadata import (
    bullet_list,
    definition_metadata,
    markdown_table,
    table_key,
    table_metadata,
)
from impacting.defs.resources import LanguageResource, SiteResource, TriageResource, WarehouseResource
from impacting.language.encoder import EmbeddingCache
from impacting.people.nightly import gather_briefs, summarise_requests
from impacting.people.paths import DELIVERY, INDEX
from impacting.people.rows import brief_rows, briefs_from_rows
from impacting.people.site import SiteFolder
from impacting.people.site_pages import newest_first, site_files
from impacting.settings import var
from impacting.triage.registry import ModelRegistry
from impacting.warehouse.store import read_table, replace_rows
from impacting.warehouse.tables import (
    BRIEFS,
    DESCRIPTION_CHUNKS,
    MODELS,
    REQUEST_SUMMARIES,
    TEMPLATE_PASSAGES,
)

GROUP = "people"
SITE_KEY = dg.AssetKey("site")
# Briefs shown in full in the UI, newest first.
SHOWN_BRIEFS = 3


@dg.asset(
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
        run = summarise_requests(con, EmbeddingCache(con, language.encoder()), language.config())
        metadata = table_metadata(con, REQUEST_SUMMARIES, ["request_key", "kind", "words", "parts", "text"])
    for problem in run.problems:
        context.log.warning(problem)
    return dg.MaterializeResult(metadata=metadata | {
        "requests": run.requests - len(run.failed),
        "problems": dg.MetadataValue.md(bullet_list(run.problems)),
    })


@dg.asset(
    key="briefs",
    group_name=GROUP,
    deps=[request_summaries, "team_predictions", "similar_projects", "team_model", "keywords",
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
        run = gather_briefs(con, EmbeddingCache(con, language.encoder()),
                            ModelRegistry.of_warehouse(con, warehouse.open().working_dir), now,
                            min_score=triage.settings().similar_min_score,
                            keywords=language.settings().keyword_count)
        rows = brief_rows(run.briefs, run.model_version, now)
        if run.failed:
            previous = read_table(con, BRIEFS)
            rows = pd.concat([rows, previous[previous["request_key"].isin(run.failed)]], ignore_index=True)
        replace_rows(con, BRIEFS, rows)
        metadata = table_metadata(con, BRIEFS)
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
        "problems": dg.MetadataValue.md(bullet_list(run.problems)),
    } | {f"newest_{n}": dg.MetadataValue.md(markdown[b.key])
         for n, b in enumerate(newest[:SHOWN_BRIEFS], start=1)})


@dg.asset(
    key=SITE_KEY,
    group_name=GROUP,
    deps=[briefs, "delivery_report"],
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
    with warehouse.open().connect() as con:
        stored = briefs_from_rows(read_table(con, BRIEFS))
        model = con.execute(f"SELECT version, teams FROM {MODELS.qualified} WHERE status = 'accepted' "
                            "ORDER BY trained_at DESC LIMIT 1").fetchone()
    current = folder.current()
    delivery = current is not None and (current / DELIVERY).is_file()
    teams = list(model[1]) if model else []
    files = site_files(stored, teams, datetime.now(UTC).isoformat(timespec="seconds"), delivery,
                       f"team model {model[0]}" if model else "no team model yet")
    with failures():
        published = folder.publish(files)
    seconds = time.perf_counter() - started
    context.log.info(f"published {published.files} pages to {published.path} ({published.build.name})")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(published.path / INDEX)),
        "build": published.build.name,
        "pages": published.files,
        "briefs": len(stored),
        "team_pages": sum(1 for name in files if name.startswith("teams/")),
        "delivery_report": "included" if delivery else "not yet written",
        "seconds_per_brief": dg.MetadataValue.float(seconds / len(stored) if stored else 0.0),
    })


ASSETS = [request_summaries, briefs, publish_site]

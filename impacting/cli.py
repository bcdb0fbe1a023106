"""The `impacting` command line: `impacting run [--select SELECTION]`, `triage`, `summarise`,
`feedback`, `eval`, `bench`, `export` and `config`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from impacting.benchmark.command import add_bench_parser, run_bench
from impacting.settings import var

EXAMPLE_QUERIES = (
    ("Requests waiting for triage",
     "SELECT key, summary, created_at FROM projects WHERE status_category = 'new' "
     "ORDER BY created_at DESC;"),
    ("Past projects per team",
     "SELECT team, count(*) AS projects FROM (SELECT unnest(teams) AS team FROM projects) "
     "GROUP BY team ORDER BY projects DESC;"),
    ("Longest design documents, and any that could not be read",
     "SELECT project_key, file_name, word_count, extraction_status, extraction_reason "
     "FROM documents ORDER BY extraction_status <> 'ok' DESC, word_count DESC LIMIT 10;"),
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="impacting", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="materialise the pipeline once, as the nightly schedule would",
        description="Materialise the nightly job once from the shell, then publish the "
        "analysts' DuckDB file. Runs are recorded in DAGSTER_HOME when it is set, so they "
        "show in the Dagster UI.",
    )
    run.add_argument("--select", default="*",
                     help="Dagster asset selection, e.g. 'group:ingest' or 'documents+' "
                     "(default: everything)")
    run.add_argument("--no-publish", action="store_true",
                     help="leave the published file alone (only the working database changes)")
    run.add_argument("--verbose", action="store_true", help="show Dagster's debug events too")
    run.add_argument("--full", action="store_true",
                     help=f"live Jira: re-read every issue {var('source.jira_jql')} matches and remove the "
                     "ones it "
                     "no longer matches (reconciliation); without it a run fetches only what changed")

    _add_feedback_parser(commands)
    _add_summarise_parser(commands)
    _add_triage_parser(commands)
    _add_eval_parser(commands)
    add_bench_parser(commands)
    export = commands.add_parser(
        "export", help="write the analyst tables as Parquet files, for tools that read no DuckDB",
        description="Read the published warehouse read-only and write one <table>.parquet per "
        "analyst table into DIR (each file complete before it appears); what each table and "
        "column means is kept in the files' key-value metadata (impacting:table, impacting:columns).")
    export.add_argument("--parquet", type=Path, required=True, metavar="DIR",
                        help="the folder to write the Parquet files to")
    config = commands.add_parser(
        "config", help="print the effective settings (secrets masked) and where each came from",
        description="Every setting: its environment variable, the value in effect (secrets are "
        "shown as '*** (set)'), and whether it came from the environment or its default.")
    config.add_argument("--json", action="store_true", help="print JSON instead of a table")

    args = parser.parse_args(argv)
    if args.command == "config":
        return _config(args)
    if args.command == "summarise":
        return _summarise(args)
    if args.command == "feedback":
        return _feedback(args)
    if args.command == "triage":
        return _triage(args)
    if args.command == "eval":
        return _eval(args)
    if args.command == "export":
        return _export(args)
    if args.command == "bench":
        return run_bench(args)
    if args.command == "run":
        return _run(args.select, publish=not args.no_publish, verbose=args.verbose, full=args.full)
    parser.error(f"unknown command {args.command}")
    return 2


def _run(selection: str, publish: bool, verbose: bool = False, full: bool = False) -> int:
    import warnings

    import dagster as dg

    # Dagster's beta/preview notices are for library authors, not for someone running the job.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)

    from impacting.definitions import build_definitions
    from impacting.defs.publish import PUBLISHED_KEY
    from impacting.errors import ActionableError
    from impacting.settings import Settings

    try:
        settings = Settings.from_env()
        _check_routing(settings)
    except ActionableError as error:
        print(f"impacting: {error}", file=sys.stderr)
        return 2
    from impacting.defs.schedules import NIGHTLY_JOB

    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    try:
        # Within the nightly job: the partitioned embedding backfill is launched on its own.
        keys = set(dg.AssetSelection.from_string(selection).resolve(graph)) & set(
            NIGHTLY_JOB.selection.resolve(graph))
    except Exception as error:  # Dagster raises several types for a bad selection string
        print(f"impacting: --select {selection!r} is not a valid asset selection: {error}",
              file=sys.stderr)
        return 2
    if publish:
        keys.add(PUBLISHED_KEY)
    else:
        keys.discard(PUBLISHED_KEY)
    if not keys:
        print(f"impacting: --select {selection!r} matches no asset of the nightly job (the "
              "embedding backfill runs partition by partition: `dagster asset backfill` or the UI)",
              file=sys.stderr)
        return 2
    if full and dg.AssetKey(["raw", "jira_issues"]) not in keys:
        print(f"impacting: --full re-reads Jira in the jira_sync step (raw/jira_issues), which --select "
              f"{selection!r} leaves out; add it, e.g. --select 'group:ingest'", file=sys.stderr)
        return 2

    from impacting.defs.abandoned import process_tags, release_abandoned_runs

    instance = _instance(dg)
    for run_id in release_abandoned_runs(instance):
        print(f"impacting: run {run_id} was left unfinished by a process that is gone; marked failed "
              "and its warehouse slot freed", file=sys.stderr)
    job = defs.resolve_job_def("nightly")
    if settings.distributed.executor != "in_process":
        print(f"impacting: note: this run executes in this process; {var('distributed.executor')}="
              f"{settings.distributed.executor} applies to runs the daemon starts (the schedule, the UI, "
              "`dagster job launch -w workspace.yaml -j nightly`)", file=sys.stderr)
    print(f"impacting: materialising {len(keys)} assets: "
          f"{', '.join(sorted(k.to_user_string() for k in keys))}")
    log_level = "DEBUG" if verbose else "INFO"
    run_config: dict = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if full:
        run_config["ops"] = {"jira_sync": {"config": {"full_refresh": True}}}
    result = job.execute_in_process(
        run_config=run_config,
        instance=instance, asset_selection=sorted(keys), raise_on_error=False,
        tags={"impacting/trigger": "cli"} | process_tags(),
    )
    if not result.success:
        failed = [event.step_key for event in result.all_events if event.is_step_failure]
        print(f"impacting: run {result.run_id} failed at {', '.join(failed) or 'start-up'}; "
              f"the published file {settings.warehouse_path} was left as it was", file=sys.stderr)
        return 1
    if PUBLISHED_KEY in keys:
        _print_next_steps(settings.warehouse_path, settings.site.site_dir)
    else:
        print(f"impacting: done; working database {settings.working_dir / 'working.duckdb'} "
              "updated, nothing published")
    return 0


def _check_routing(settings) -> None:
    """A routing file with a mistake stops the run before any work, naming file and line."""
    if settings.people.routing_file:
        from impacting.people.routing import load_routing

        load_routing(settings.people.routing_file)


def _add_feedback_parser(commands) -> None:
    feedback = commands.add_parser(
        "feedback", help="confirm or reject a team for a request (answers the review queue)",
        description="Record a person's decision on whether TEAM is impacted by request KEY. It is "
        f"written to the feedback folder ({var('triage.feedback_dir')}) like any CSV line, so the "
        "next run overrides the model with it and learns from it.")
    feedback.add_argument("key", help="the request, e.g. KEP-3157")
    feedback.add_argument("team", help="the team, e.g. sig-storage")
    feedback.add_argument("verdict", choices=["confirm", "reject"])
    feedback.add_argument("--by", help="who decided (shown in the reason, e.g. 'confirmed by NAME')")
    feedback.add_argument("--note", help="why, in a few words")


def _feedback(args) -> int:
    from datetime import UTC, datetime

    import duckdb

    from impacting.settings import Settings, SettingsError
    from impacting.triage.feedback import append_decision

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"impacting: {error}", file=sys.stderr)
        return 2
    key, team = args.key.strip(), args.team.strip()
    if not key or not team:
        print("impacting: KEY and TEAM must not be empty", file=sys.stderr)
        return 2
    published = settings.warehouse_path
    if published.is_file():  # read-only, as an analyst: never in a running pipeline's way
        with duckdb.connect(str(published), read_only=True) as con:
            known = con.execute("SELECT count(*) FROM projects WHERE key = ?", [key]).fetchone()[0]
            teams = {t for (t,) in con.execute(
                "SELECT DISTINCT unnest(teams) FROM projects UNION SELECT DISTINCT team "
                "FROM team_predictions").fetchall()}
        if not known:
            print(f"impacting: there is no request {key} in {published}; check the key (the review "
                  "digest lists them)", file=sys.stderr)
            return 2
        if team not in teams:
            print(f"impacting: note: {team!r} is a team the warehouse has not seen; it is recorded "
                  "anyway and becomes a known team once the model is retrained", file=sys.stderr)
    path = append_decision(settings.triage.feedback_dir, key, team, args.verdict == "confirm",
                           args.by, args.note, datetime.now(UTC))
    verdict = "confirmed" if args.verdict == "confirm" else "rejected"
    print(f"impacting: {key} {team} {verdict}{f' by {args.by}' if args.by else ''}, recorded in "
          f"{path}; the next run applies it")
    return 0


def _instance(dg):
    """The Dagster instance runs are recorded in, so they show in the UI.

    DAGSTER_HOME when set; else the checkout's `.dagster/` (what `make ui` uses); else a
    throw-away instance. A new DAGSTER_HOME gets the checkout's instance settings (one run at a
    time, the warehouse pool, no telemetry).
    """
    import shutil

    from impacting.settings import project_root

    template = project_root() / ".dagster" / "dagster.yaml"
    if not os.environ.get("DAGSTER_HOME") and template.is_file():
        os.environ["DAGSTER_HOME"] = str(template.parent)
    if os.environ.get("DAGSTER_HOME"):
        home = Path(os.environ["DAGSTER_HOME"]).expanduser()
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists() and template.is_file():
            shutil.copy(template, home / "dagster.yaml")
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _add_summarise_parser(commands) -> None:
    summarise = commands.add_parser(
        "summarise", help="summarise a document at any length, with its keywords",
        description="Print a document's executive summary, a summary at the length you ask "
        "for, and its keywords. Without --ratio or --words the standard summary uses "
        f"{var('language.summary_words')} or {var('language.summary_ratio')}.",
    )
    summarise.add_argument("source", help="a document file (.md, .txt, .html, .docx, .pdf), '-' "
                           "for standard input, or a request key / document id in the warehouse")
    degree = summarise.add_mutually_exclusive_group()
    degree.add_argument("--ratio", type=float, help="length as a share of the document, e.g. 0.05")
    degree.add_argument("--words", type=int, help="length in words, e.g. 300")
    summarise.add_argument("--executive-words", type=int,
                           help=f"executive summary length (default {var('language.executive_words')}, 60)")
    summarise.add_argument("--keywords", type=int, help="how many keywords (default 10)")
    summarise.add_argument("--method", choices=["extractive", "abstractive"],
                           help=f"default {var('language.summary_method')} (extractive)")
    summarise.add_argument("--cache", type=Path, help="a DuckDB file to keep embeddings in "
                           "(default: the warehouse's cache when no run holds it)")
    summarise.add_argument("--json", action="store_true", help="print JSON instead of text")


def _summarise(args) -> int:
    import json

    from impacting.errors import ActionableError
    from impacting.language.analysis import EXECUTIVE, STANDARD, LanguageConfig
    from impacting.language.encoder import configured_encoder
    from impacting.language.on_demand import find_documents, open_workspace, summarise_documents
    from impacting.language.summarise import Degree
    from impacting.settings import Settings

    try:
        settings = Settings.from_env()
        if args.ratio is not None or args.words is not None:
            Degree(ratio=args.ratio, words=args.words)  # says what is wrong with a bad length
        changes = {name: value for name, value in (
            ("executive_words", args.executive_words), ("summary_method", args.method),
            ("keyword_count", args.keywords)) if value is not None}
        if args.ratio is not None:
            changes |= {"summary_ratio": args.ratio, "summary_words": None}
        elif args.words is not None:
            changes |= {"summary_words": args.words}
        config = LanguageConfig.from_settings(settings.language, **changes)
        with open_workspace(settings.warehouse_path, configured_encoder(settings.language),
                            args.cache) as workspace:
            documents = find_documents(args.source, workspace, settings.warehouse_path)
            results = summarise_documents(documents, workspace, config, progress=lambda line: print(
                f"impacting: {line}", file=sys.stderr, flush=True))
            note = workspace.note
    except ActionableError as error:
        print(f"impacting: {error}", file=sys.stderr)
        return 2
    print(f"impacting: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps([{
            "document": d.label, "prose_words": r.prose_words,
            "executive_summary": r.summaries[EXECUTIVE].text,
            "summary": r.summaries[STANDARD].text, "degree": r.summaries[STANDARD].degree,
            "method": r.summaries[STANDARD].method,
            "keywords": [{"phrase": k.phrase, "score": round(k.score, 4)} for k in r.keywords],
        } for d, r in zip(documents, results, strict=True)], indent=2, ensure_ascii=False))
        return 0
    for document, result in zip(documents, results, strict=True):
        standard, executive = result.summaries[STANDARD], result.summaries[EXECUTIVE]
        print(f"# {document.label} ({result.prose_words} words of prose)\n")
        print(f"## Executive summary ({executive.words} words)\n\n{executive.text}\n")
        print(f"## Summary ({standard.degree}: {standard.words} words, {standard.method})\n\n"
              f"{standard.text}\n")
        print("## Keywords\n\n" + (", ".join(k.phrase for k in result.keywords) or "none") + "\n")
    return 0


def _add_triage_parser(commands) -> None:
    triage = commands.add_parser(
        "triage", help="the impact brief of a draft or a request, without running the pipeline",
        description="Print the one-page brief of a design document that is not in Jira yet (a "
        "file or standard input) or of a request in the warehouse: summaries, keywords, the "
        "teams that should read it and which sections, similar past projects. Uses the published "
        f"warehouse ({var('warehouse.path')}) and its accepted team model; progress goes to "
        "standard error.",
    )
    triage.add_argument("source", help="a document file (.md, .txt, .html, .docx, .pdf), '-' for "
                        "standard input, or a request key in the warehouse such as KEP-1234")
    degree = triage.add_mutually_exclusive_group()
    degree.add_argument("--ratio", type=float, help="standard summary length as a share of the "
                        "request, e.g. 0.05")
    degree.add_argument("--words", type=int, help="standard summary length in words, e.g. 300")
    triage.add_argument("--format", choices=["md", "html", "json"], default="md",
                        help="Markdown (default), a self-contained HTML page, or JSON")
    triage.add_argument("--out", type=Path, help="write the brief here instead of standard output")


def _triage(args) -> int:
    import json

    from impacting.errors import ActionableError
    from impacting.language.summarise import Degree
    from impacting.people.on_demand import brief_on_demand
    from impacting.people.render_html import brief_html
    from impacting.people.render_markdown import brief_markdown
    from impacting.settings import Settings

    def say(line: str) -> None:
        print(f"impacting: {line}", file=sys.stderr, flush=True)

    try:
        settings = Settings.from_env()
        standard = Degree(ratio=args.ratio, words=args.words) \
            if args.ratio is not None or args.words is not None else None
        result = brief_on_demand(args.source, settings, standard=standard, progress=say)
    except ActionableError as error:
        print(f"impacting: {error}", file=sys.stderr)
        return 2
    brief = result.brief
    if args.format == "json":
        text = json.dumps(brief.to_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        text = brief_html(brief, root=None) if args.format == "html" else brief_markdown(brief)
    for note in result.notes:
        say(note)
    timings = result.timings
    say(f"done in {timings.model_load + timings.rest:.1f} s: loading models {timings.model_load:.1f} s, "
        f"the rest {timings.rest:.1f} s (" + ", ".join(
            f"{name} {seconds:.1f} s" for name, seconds in timings.steps.items()) + ")")
    if args.out:
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text, encoding="utf-8")
        except OSError as error:
            print(f"impacting: could not write {args.out} ({error.strerror or error}); choose a "
                  "writable --out path", file=sys.stderr)
            return 2
        say(f"brief written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _add_eval_parser(commands) -> None:
    evaluate = commands.add_parser(
        "eval", help="measure summaries (and later stages) on a benchmark corpus",
        description="Evaluate on *.bench.jsonl files: TRAIN supplies what is learnt or counted "
        "(corpus statistics, models), TEST is scored. Writes nested JSON, e.g. "
        "results['summary']['rouge1'] and results['speed']['language_words_per_second'].",
    )
    evaluate.add_argument("--train", type=Path, required=True, help="training *.bench.jsonl")
    evaluate.add_argument("--test", type=Path, required=True, help="test *.bench.jsonl")
    evaluate.add_argument("--out", type=Path, required=True, help="results JSON file to write; "
                          "sections not run this time are kept from an existing file")
    evaluate.add_argument("--section", action="append", dest="sections",
                          help="run only this section (repeatable), e.g. summary or speed")
    evaluate.add_argument("--cache", type=Path, help="a DuckDB file to keep embeddings in across "
                          "evaluations (default: in memory, so the speed section is a cold run)")


def _eval(args) -> int:
    import json

    import duckdb

    from impacting.errors import ActionableError
    from impacting.evaluation import SECTIONS, evaluate, write_results
    from impacting.language.analysis import LanguageConfig
    from impacting.language.encoder import EmbeddingCache, configured_encoder
    from impacting.settings import Settings

    unknown = sorted(set(args.sections or ()) - set(SECTIONS))
    if unknown:
        print(f"impacting: unknown --section {', '.join(unknown)}; choose from "
              f"{', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
        config = LanguageConfig.from_settings(settings.language)
        if args.cache:
            args.cache.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(args.cache) if args.cache else ":memory:") as con:
            cache = EmbeddingCache(con, configured_encoder(settings.language))
            results = evaluate(args.train, args.test, cache=cache, config=config,
                               sections=args.sections, triage=settings.triage, themes=settings.themes,
                               log=lambda line: print(f"impacting: {line}", file=sys.stderr))
    except ActionableError as error:
        print(f"impacting: {error}", file=sys.stderr)
        return 2
    path = write_results(results, args.out)
    print(json.dumps(results, indent=2))
    print(f"impacting: results written to {path}", file=sys.stderr)
    return 0


def _export(args) -> int:
    from impacting.errors import ActionableError
    from impacting.settings import Settings
    from impacting.warehouse.export import export_parquet

    try:
        settings = Settings.from_env()
        exported = export_parquet(settings.warehouse_path, args.parquet)
    except ActionableError as error:
        print(f"impacting: {error}", file=sys.stderr)
        return 2
    for item in exported:
        print(f"{item.path}\t{item.rows} rows")
    print(f"impacting: {len(exported)} tables from {settings.warehouse_path} written to {args.parquet}",
          file=sys.stderr)
    return 0


def _config(args) -> int:
    import json

    from impacting.settings import Settings, SettingsError
    from impacting.settings_report import effective_settings

    try:
        rows = effective_settings(Settings.from_env())
    except SettingsError as error:
        print(f"impacting: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["variable"]) for r in rows)
    group = None
    for row in rows:
        if row["group"] != group:
            group = row["group"]
            print(f"\n[{group}]")
        marker = "" if row["from"] == "default" else "  (from the environment)"
        print(f"  {row['variable']:<{width}}  {row['value']}{marker}")
    return 0


def _print_next_steps(path, site) -> None:
    print(f"\nPublished: {path}")
    print(f"Site: {site / 'index.html'} (serve it with: python -m http.server -d {site})\n")
    print("Query it (read-only, so it never gets in the nightly run's way):")
    print(f"  .venv/bin/python -c \"import duckdb; duckdb.connect('{path}', read_only=True)"
          ".sql('SELECT count(*) FROM projects').show()\"\n")
    for title, sql in EXAMPLE_QUERIES:
        print(f"-- {title}\n{sql}\n")


if __name__ == "__main__":
    sys.exit(main())

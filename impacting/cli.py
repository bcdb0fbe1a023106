"""The `impacting` command line: `impacting run [--select SELECTION]`, `summarise`, `eval`, `export`
and `config`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

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

    _add_summarise_parser(commands)
    _add_eval_parser(commands)
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
    if args.command == "eval":
        return _eval(args)
    if args.command == "export":
        return _export(args)
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
    from impacting.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"impacting: {error}", file=sys.stderr)
        return 2
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    try:
        keys = set(dg.AssetSelection.from_string(selection).resolve(graph))
    except Exception as error:  # Dagster raises several types for a bad selection string
        print(f"impacting: --select {selection!r} is not a valid asset selection: {error}",
              file=sys.stderr)
        return 2
    if publish:
        keys.add(PUBLISHED_KEY)
    else:
        keys.discard(PUBLISHED_KEY)
    if not keys:
        print(f"impacting: --select {selection!r} matches no asset", file=sys.stderr)
        return 2
    if full and dg.AssetKey(["raw", "jira_issues"]) not in keys:
        print(f"impacting: --full re-reads Jira in the jira_sync step (raw/jira_issues), which --select "
              f"{selection!r} leaves out; add it, e.g. --select 'group:ingest'", file=sys.stderr)
        return 2

    instance = _instance(dg)
    job = defs.resolve_job_def("nightly")
    print(f"impacting: materialising {len(keys)} assets: "
          f"{', '.join(sorted(k.to_user_string() for k in keys))}")
    log_level = "DEBUG" if verbose else "INFO"
    run_config: dict = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if full:
        run_config["ops"] = {"jira_sync": {"config": {"full_refresh": True}}}
    result = job.execute_in_process(
        run_config=run_config,
        instance=instance, asset_selection=sorted(keys), raise_on_error=False,
        tags={"impacting/trigger": "cli"},
    )
    if not result.success:
        failed = [event.step_key for event in result.all_events if event.is_step_failure]
        print(f"impacting: run {result.run_id} failed at {', '.join(failed) or 'start-up'}; "
              f"the published file {settings.warehouse_path} was left as it was", file=sys.stderr)
        return 1
    if PUBLISHED_KEY in keys:
        _print_next_steps(settings.warehouse_path)
    else:
        print(f"impacting: done; working database {settings.working_dir / 'working.duckdb'} "
              "updated, nothing published")
    return 0


def _instance(dg):
    """The Dagster instance runs are recorded in, so they show in the UI.

    DAGSTER_HOME when set; else the checkout's `.dagster/` (what `make ui` uses); else a
    throw-away instance.
    """
    from impacting.settings import project_root

    if not os.environ.get("DAGSTER_HOME"):
        home = project_root() / ".dagster"
        if (home / "dagster.yaml").is_file():
            os.environ["DAGSTER_HOME"] = str(home)
    if os.environ.get("DAGSTER_HOME"):
        Path(os.environ["DAGSTER_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)
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
    from impacting.language.encoder import shared_encoder
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
        with open_workspace(settings.warehouse_path, shared_encoder(settings.language.embedding_model),
                            args.cache) as workspace:
            documents = find_documents(args.source, workspace, settings.warehouse_path)
            results = summarise_documents(documents, workspace, config)
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
    from impacting.language.encoder import EmbeddingCache, shared_encoder
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
            cache = EmbeddingCache(con, shared_encoder(settings.language.embedding_model))
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


def _print_next_steps(path) -> None:
    print(f"\nPublished: {path}\n")
    print("Query it (read-only, so it never gets in the nightly run's way):")
    print(f"  .venv/bin/python -c \"import duckdb; duckdb.connect('{path}', read_only=True)"
          ".sql('SELECT count(*) FROM projects').show()\"\n")
    for title, sql in EXAMPLE_QUERIES:
        print(f"-- {title}\n{sql}\n")


if __name__ == "__main__":
    sys.exit(main())

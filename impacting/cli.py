"""The `impacting` command line: `impacting run [--select SELECTION]` and friends."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

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

    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args.select, publish=not args.no_publish, verbose=args.verbose)
    parser.error(f"unknown command {args.command}")
    return 2


def _run(selection: str, publish: bool, verbose: bool = False) -> int:
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

    instance = _instance(dg)
    job = defs.resolve_job_def("nightly")
    print(f"impacting: materialising {len(keys)} assets: "
          f"{', '.join(sorted(k.to_user_string() for k in keys))}")
    log_level = "DEBUG" if verbose else "INFO"
    result = job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
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
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _print_next_steps(path) -> None:
    print(f"\nPublished: {path}\n")
    print("Query it (read-only, so it never gets in the nightly run's way):")
    print(f"  .venv/bin/python -c \"import duckdb; duckdb.connect('{path}', read_only=True)"
          ".sql('SELECT count(*) FROM projects').show()\"\n")
    for title, sql in EXAMPLE_QUERIES:
        print(f"-- {title}\n{sql}\n")


if __name__ == "__main__":
    sys.exit(main())

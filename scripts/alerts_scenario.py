"""Issue 12's "done when" on the whole embedded sample, with figures: three `impacting run`s with
a routing file sending teams to Slack and Teams webhooks, to email, the triage lead to email and
everyone else to a fallback webhook, all real local receivers (the Teams one answers 500 during
the first run). Prints, per run, what each receiver accepted, then scans every byte the runs
wrote for the secrets.

    PYTHONPATH=$PWD .venv/bin/python scripts/alerts_scenario.py [--keep DIR]

It reuses the receivers and checks of `impacting_tests/people/test_done_when.py` (which runs the
same scenario on a dozen requests); this is the full-size run and its numbers.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import duckdb
from pytest_httpserver import HTTPServer

from impacting.cli import main as impacting
from impacting_tests.conftest import SAMPLE, sample_keys
from impacting_tests.people.receivers import MailServer
from impacting_tests.people.test_done_when import (
    ROUTING,
    SMTP_PASSWORD,
    SMTP_USER,
    TOKENS,
    Receivers,
    every_written_byte,
    owed,
    received,
)


def main() -> int:
    # The receivers stand for outside services and run in this process only for convenience:
    # their access logs (which name the webhook paths) are not something the pipeline wrote.
    for name in ("werkzeug", "mail.log"):
        logging.getLogger(name).setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path,
                        help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="alerts-scenario-"))
    root.mkdir(parents=True, exist_ok=True)
    server = HTTPServer()
    server.start()
    try:
        return scenario(root, server)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def scenario(root: Path, server: HTTPServer) -> int:
    receivers = Receivers(server)
    warehouse = root / "wh" / "impacting.duckdb"
    with MailServer(root, username=SMTP_USER, password=SMTP_PASSWORD) as mail:
        routing = root / "routing.yaml"
        routing.write_text(ROUTING.replace("PORT", str(mail.port)), encoding="utf-8")
        (root / "dagster").mkdir(exist_ok=True)
        os.environ.update({
            "IMPACTING_EXPORT_DIR": str(SAMPLE), "IMPACTING_WAREHOUSE": str(warehouse),
            "DAGSTER_HOME": str(root / "dagster"), "IMPACTING_ROUTING_FILE": str(routing),
            "IMPACTING_SITE_DIR": str(root / "site"),
            "IMPACTING_ALERT_RETRY_BASE_SECONDS": "0.01", "HF_HUB_OFFLINE": "1",
            "IMPACTING_TRIAGE_TARGET_RECALL": "0.6", "IMPACTING_TRIAGE_UNSURE_RECALL": "0.999",
            "IMPACTING_TRIAGE_READING_BUDGET": "1.0",
            "SMTP_USER": SMTP_USER, "SMTP_PASSWORD": SMTP_PASSWORD, **receivers.url})
        keys = sample_keys(0, open_requests=len(list((SAMPLE / "issues").glob("*.json"))))
        for run in (1, 2, 3):
            calls, mails = len(receivers.calls), len(mail.received)
            if run == 2:
                receivers.down = False
            started = time.perf_counter()
            if impacting(["run"]) != 0:
                print(f"run {run} failed", file=sys.stderr)
                return 1
            seconds = time.perf_counter() - started
            got = received(receivers.accepted(calls), mail.received[mails:], keys)
            refused = sum(1 for _, status, _ in receivers.calls[calls:] if status >= 300)
            accepted = sum(len(v) for v in got.values())
            print(f"\n== run {run}: {seconds:.0f} s, {accepted} message(s) accepted, "
                  f"{refused} HTTP answer(s) >= 300")
            for route, messages in sorted(got.items()):
                print(f"  {route[0]:<28} {route[1]:<8} {len(messages)} message(s), requests listed: "
                      f"{[len(m) for m in messages]}")
            if run == 1:
                first_owed = owed(warehouse)
                complete = all(got.get(route) == [keys_owed] for route, keys_owed in first_owed.items()
                               if route != ("team sig-api-machinery", "teams"))
                print(f"  owed by the warehouse: {len(first_owed)} (route, channel) digests; each received "
                      f"exactly once listing all its requests: {complete}")
        with duckdb.connect(str(warehouse), read_only=True) as con:
            print("\nalert_deliveries by state:", dict(con.execute(
                "SELECT state, count(*) FROM alert_deliveries GROUP BY 1 ORDER BY 1").fetchall()))
            print("alerts by kind:", dict(con.execute(
                "SELECT recipient_kind, count(*) FROM alerts GROUP BY 1 ORDER BY 1").fetchall()))
            print("messages by state:", dict(con.execute(
                "SELECT state, count(*) FROM messages GROUP BY 1 ORDER BY 1").fetchall()))
        written = every_written_byte(root, skip={routing, mail.ca_file})
    forms = [form for secret in [*TOKENS.values(), SMTP_PASSWORD]
             for form in (secret.encode(), quote(secret).encode(), base64.b64encode(secret.encode()))]
    forms.append(base64.b64encode(f"\0{SMTP_USER}\0{SMTP_PASSWORD}".encode()))
    found = [form.decode() for form in forms if form in written]
    files = sum(1 for p in root.rglob("*") if p.is_file())
    print(f"\nsecret scan: {len(written):,} bytes in {files} files written under {root}; "
          f"{len(forms)} secret forms searched; found: {json.dumps(found)}")
    return 0 if not found else 1


if __name__ == "__main__":
    sys.exit(main())

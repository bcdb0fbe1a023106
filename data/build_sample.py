"""Build the embedded sample (`data/sample/`) from the Kubernetes Enhancement Proposals corpus.

Each chosen proposal becomes what a Jira export of it would hold: a Jira REST API v2 issue JSON
in `issues/` (summary = title, description = the proposal's own summary, components = its teams,
status, dates, issue links) and its design document as an attachment file in
`attachments/<attachment id>/<name>.md`. The newest proposals become new, open requests with no
teams yet (the ones to triage); the rest are past projects whose teams are known.

Delivery reporting needs status histories, which the corpus does not have. Only the creation
date and the lifecycle status (hence the current Jira status) are real; every status change in
a changelog, every `resolutiondate` and `updated`, and the child delivery tasks in `delivery/`
(stories under a few in-progress proposals) are SYNTHETIC: drawn from a generator seeded per
issue key, consistent with each issue's current status, all before `SNAPSHOT`, and authored by
"sample generator (synthetic)" so no one mistakes them for real history.

Usage: python data/build_sample.py [--corpus ../shared/data/keps-dev.bench.jsonl] [--size 100]

Deterministic: the same corpus gives byte-identical output.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "data" / "keps-dev.bench.jsonl"
JIRA = "https://jira.example.com"  # placeholder host: the sample is not a real Jira

# KEP lifecycle → Jira status, status category, resolution.
STATUS = {
    "implemented": ("Done", "done", "Done"),
    "implementable": ("In Progress", "indeterminate", None),
    "provisional": ("In Design", "indeterminate", None),
    "withdrawn": ("Closed", "done", "Won't Do"),
    "rejected": ("Closed", "done", "Won't Do"),
    "deferred": ("Closed", "done", "Deferred"),
    "replaced": ("Closed", "done", "Superseded"),
}
CATEGORY_NAMES = {"new": (2, "To Do"), "indeterminate": (4, "In Progress"), "done": (3, "Done")}

# --- synthetic status histories (see the module docstring) --------------------------------------
# The moment the sample "export" was taken: every synthetic event lies before it.
SNAPSHOT = datetime(2023, 1, 13, 17, 0, tzinfo=UTC)
SYNTHETIC_AUTHOR = {"name": "sample-generator", "displayName": "sample generator (synthetic)"}
# Offsets the synthetic timestamps are written in, as people around the world would send them.
OFFSETS = ("+0000", "+0100", "-0800", "+0530", "-0500", "+0900")
# Proposals (KEP epics) move Open -> In Design -> In Progress -> Done.
# Their child delivery tasks move To Do -> In Progress (-> Blocked) -> In Review -> Done.
TASK_STATUS_CATEGORY = {"To Do": "new", "In Progress": "indeterminate", "Blocked": "indeterminate",
                        "In Review": "indeterminate", "Done": "done"}
TASK_PROJECT = {"id": "10001", "key": "DEL", "name": "Delivery tasks (synthetic)"}
TASKS = ("API review", "Feature gate and defaults", "Alpha implementation", "Unit tests",
         "End-to-end tests", "Metrics and events", "Documentation", "Upgrade and downgrade testing",
         "Production readiness review", "Beta graduation", "Release note", "Scalability check")
EPICS_WITH_TASKS = 6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=HERE / "sample")
    parser.add_argument("--size", type=int, default=100, help="requests in the sample")
    parser.add_argument("--open", type=int, default=15, help="newest requests left to triage")
    parser.add_argument("--max-words", type=int, default=2500,
                        help="longest design document to prefer (keeps `make run` quick)")
    args = parser.parse_args()

    corpus = [json.loads(line) for line in args.corpus.open(encoding="utf-8") if line.strip()]
    chosen = choose(corpus, args.size, args.open, args.max_words)
    write_sample(chosen, corpus, args.out, args.open)
    words = sum(record["word_count"] for record in chosen)
    teams = Counter(t for record in chosen[: len(chosen) - args.open] for t in record["teams"])
    tasks = len(list((args.out / "delivery").glob("*.json")))
    print(f"wrote {len(chosen)} requests ({args.open} open), {words:,} words, and {tasks} synthetic "
          f"delivery tasks, to {args.out}")
    print("past projects per team:", dict(sorted(teams.items(), key=lambda kv: -kv[1])))


def choose(corpus: list[dict], size: int, n_open: int, max_words: int) -> list[dict]:
    """Pick `size` short proposals: the newest `n_open`, then past ones covering every team.

    A team has "enough history" when the corpus holds at least five of its proposals; each such
    team gets at least four past projects in the sample (or all it has, shortest first, up to
    twice `max_words`), then the shortest
    remaining proposals fill up the rest, preferring ones linked to proposals already chosen so
    that similar-project search has ground truth to show. Returned oldest first.
    """
    # Team coverage may take documents up to twice the preferred length; filling up may not.
    usable = [r for r in corpus if r["status"] in STATUS and 150 <= r["word_count"] <= 2 * max_words
              and r.get("reference_summary")]
    usable.sort(key=lambda r: (r["created"], r["key"]))
    newest = [r for r in usable if r["word_count"] <= max_words][-n_open:]
    history = [r for r in usable if r["created"] < newest[0]["created"]]
    counts = Counter(t for r in corpus for t in r["teams"])
    wanted = {team: min(4, sum(team in r["teams"] for r in history))
              for team, n in counts.items() if n >= 5}

    picked: list[dict] = []
    by_length = sorted(history, key=lambda r: (r["word_count"], r["key"]))
    for team in sorted(wanted, key=lambda t: counts[t]):  # rarest teams first
        for record in by_length:
            have = sum(team in r["teams"] for r in picked)
            if have >= wanted[team]:
                break
            if team in record["teams"] and record not in picked:
                picked.append(record)

    chosen_keys = {short_key(r["key"]) for r in picked + newest}
    while len(picked) < size - n_open:
        rest = [r for r in by_length if r not in picked and r["word_count"] <= max_words]
        if not rest:
            break
        linked = [r for r in rest if {short_key(k) for k in r["links"]} & chosen_keys]
        shortest = rest[0]
        record = linked[0] if linked and linked[0]["word_count"] <= 1.5 * shortest["word_count"] \
            else shortest
        picked.append(record)
        chosen_keys.add(short_key(record["key"]))
    picked.sort(key=lambda r: (r["created"], r["key"]))
    return picked + newest


def short_key(bench_key: str) -> str:
    """`KEP-2313-aws-k8s-tester` → `KEP-2313`, the Jira-style key."""
    match = re.match(r"(KEP-\d+)", bench_key)
    return match.group(1) if match else bench_key


def write_sample(chosen: list[dict], corpus: list[dict], out: Path, n_open: int) -> None:
    titles = {short_key(r["key"]): r["title"] for r in corpus}
    for folder in ("issues", "attachments", "delivery"):
        shutil.rmtree(out / folder, ignore_errors=True)
        (out / folder).mkdir(parents=True)
    open_keys = {short_key(r["key"]) for r in chosen[len(chosen) - n_open:]}
    epics = []
    for record in chosen:
        key = short_key(record["key"])
        issue, attachment_name, attachment_id = jira_issue(record, key in open_keys, titles)
        epics.append(issue)
        _write_issue(out / "issues" / f"{key}.json", issue)
        folder = out / "attachments" / attachment_id
        folder.mkdir()
        (folder / attachment_name).write_text(record["text"], encoding="utf-8")
    for task in delivery_tasks(epics):
        _write_issue(out / "delivery" / f"{task['key']}.json", task)
    (out / "statuses.json").write_text(json.dumps(status_list(), indent=1) + "\n", encoding="utf-8")


def status_list() -> list[dict]:
    """Every status the sample uses, as Jira's `GET /rest/api/2/status` lists them: what a live
    source stores in `raw.jira_statuses`, so delivery reporting knows the category of a status
    that appears only in changelogs (e.g. Closed, Blocked)."""
    categories = {"Open": "new"} | {name: category for name, category, _ in STATUS.values()} \
        | TASK_STATUS_CATEGORY
    statuses = []
    for number, (name, category) in enumerate(sorted(categories.items()), start=1):
        category_id, category_name = CATEGORY_NAMES[category]
        statuses.append({"self": f"{JIRA}/rest/api/2/status/{number}", "id": str(number), "name": name,
                         "statusCategory": {"id": category_id, "key": category, "name": category_name}})
    return statuses


def _write_issue(path: Path, issue: dict) -> None:
    path.write_text(json.dumps(issue, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def jira_issue(record: dict, is_open: bool, titles: dict[str, str]) -> tuple[dict, str, str]:
    key = short_key(record["key"])
    kep_id = int(record["kep_id"])
    issue_id = str(100000 + kep_id)
    attachment_id = str(200000 + kep_id)
    created = f"{record['created']}T09:00:00.000+0000"
    name, category, resolution = ("Open", "new", None) if is_open else STATUS[record["status"]]
    category_id, category_name = CATEGORY_NAMES[category]
    slug = record["key"][len(key) + 1:] or key.lower()
    attachment_name = f"{slug}.md"
    links = []
    for number, target in enumerate(sorted({short_key(k) for k in record["links"]} - {key})):
        outward = {"key": target, "self": f"{JIRA}/rest/api/2/issue/{target}"}
        if target in titles:
            outward["fields"] = {"summary": titles[target]}
        links.append({
            "id": f"{kep_id}{number:02d}",
            "type": {"id": "10003", "name": "Relates", "inward": "relates to",
                     "outward": "relates to"},
            "outwardIssue": outward,
        })
    changes = epic_history(key, _parse(created), name)
    fields = {
        "project": {"id": "10000", "key": "KEP", "name": "Kubernetes Enhancements"},
        "issuetype": {"id": "10000", "name": "Epic", "subtask": False},
        "summary": record["title"],
        "description": record["reference_summary"],
        "components": [] if is_open else [{"name": team} for team in record["teams"]],
        "labels": ["kep"],
        "status": {
            "name": name,
            "statusCategory": {"id": category_id, "key": category, "name": category_name},
        },
        "resolution": {"name": resolution} if resolution else None,
        "priority": {"name": "Medium"},
        "created": created,
        "updated": _jira_time(changes[-1][0], key) if changes else created,
        "resolutiondate": _jira_time(changes[-1][0], key) if category == "done" and changes else None,
        "issuelinks": links,
        "attachment": [{
            "id": attachment_id,
            "self": f"{JIRA}/rest/api/2/attachment/{attachment_id}",
            "filename": attachment_name,
            "created": created,
            "size": len(record["text"].encode("utf-8")),
            "mimeType": "text/markdown",
            "content": f"{JIRA}/secure/attachment/{attachment_id}/{attachment_name}",
        }],
    }
    issue = {"id": issue_id, "key": key, "self": f"{JIRA}/rest/api/2/issue/{issue_id}",
             "fields": fields, "changelog": changelog(key, issue_id, changes)}
    return issue, attachment_name, attachment_id


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def _jira_time(moment: datetime, seed: str) -> str:
    """`moment` as Jira writes it, in an offset picked per issue (the UTC instant is unchanged)."""
    offset = random.Random(f"offset:{seed}").choice(OFFSETS)
    sign = -1 if offset[0] == "-" else 1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:])))
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S.000%z")


def _after(start: datetime, days: float) -> datetime:
    return (start + timedelta(days=days)).replace(second=0, microsecond=0)


def epic_history(key: str, created: datetime, status: str) -> list[tuple[datetime, str, str]]:
    """SYNTHETIC status changes leading a proposal from Open to its real current status.

    Durations are drawn per key (triage days, design months, implementation months, and a
    reopening now and then); a history that would run past SNAPSHOT is compressed to fit.
    """
    if status == "Open":
        return []
    rng = random.Random(f"impacting-sample-history:{key}")
    steps = [("Open", "In Design", rng.uniform(2, 21))]
    if status in ("In Progress", "Done"):
        steps.append(("In Design", "In Progress", rng.uniform(20, 120)))
    if status == "Done":
        steps.append(("In Progress", "Done", rng.uniform(60, 300)))
        if rng.random() < 0.15:  # a follow-up found after release reopens it
            steps += [("Done", "In Progress", rng.uniform(5, 30)),
                      ("In Progress", "Done", rng.uniform(10, 60))]
    if status == "Closed":
        steps.append(("In Design", "Closed", rng.uniform(30, 200)))
    room = (SNAPSHOT - created) / timedelta(days=1) * 0.9
    scale = min(1.0, room / sum(days for *_, days in steps))
    moment, out = created, []
    for before, after, days in steps:
        moment = _after(moment, days * scale)
        out.append((moment, before, after))
    return out


def changelog(key: str, issue_id: str, changes: list[tuple[datetime, str, str]]) -> dict:
    histories = [{
        "id": f"{issue_id}{number:02d}",
        "author": SYNTHETIC_AUTHOR,
        "created": _jira_time(moment, key),
        "items": [{"field": "status", "fieldtype": "jira", "from": None, "fromString": before,
                   "to": None, "toString": after}],
    } for number, (moment, before, after) in enumerate(changes)]
    return {"startAt": 0, "maxResults": len(histories), "total": len(histories),
            "histories": histories}


def task_work(rng: random.Random) -> list[tuple[float, str, str]]:
    """A task's route once started: (days after the previous step, from, to)."""
    steps = []
    if rng.random() < 0.15:
        steps += [(rng.uniform(1, 4), "In Progress", "Blocked"),
                  (rng.uniform(2, 12), "Blocked", "In Progress")]
    steps.append((rng.uniform(2, 9), "In Progress", "In Review"))
    if rng.random() < 0.2:  # review sends it back
        steps += [(rng.uniform(0.3, 3), "In Review", "In Progress"),
                  (rng.uniform(0.5, 3), "In Progress", "In Review")]
    steps.append((rng.uniform(0.3, 4), "In Review", "Done"))
    if rng.random() < 0.1:  # reopened after it was done
        steps += [(rng.uniform(1, 10), "Done", "In Progress"),
                  (rng.uniform(0.5, 3), "In Progress", "In Review"),
                  (rng.uniform(0.3, 2), "In Review", "Done")]
    return steps


def delivery_tasks(epics: list[dict]) -> list[dict]:
    """SYNTHETIC child stories under the newest in-progress proposals, replayed up to SNAPSHOT.

    Per epic, a team of two works through 8-14 tasks in the order they were created, one task
    per person at a time; the work began some weeks before SNAPSHOT (after the epic started),
    so at SNAPSHOT part of it is done, part in progress and the rest waiting.
    """
    in_progress = [e for e in epics if e["fields"]["status"]["name"] == "In Progress"]
    in_progress.sort(key=lambda e: (e["fields"]["created"], e["key"]), reverse=True)
    tasks = []
    for epic in sorted(in_progress[:EPICS_WITH_TASKS], key=lambda e: e["key"]):
        epic_started = _parse(epic["changelog"]["histories"][-1]["created"])
        rng = random.Random(f"impacting-sample-tasks:{epic['key']}")
        count = rng.randint(8, 14)
        # A task takes a person about eight days and two people share the work, so beginning
        # count * 5 days back leaves roughly half to two thirds of it done at SNAPSHOT.
        begin = max(epic_started, SNAPSHOT - timedelta(days=rng.uniform(0.5, 0.9) * count * 5))
        span = (SNAPSHOT - timedelta(days=5) - begin) / timedelta(days=1)
        created_times = sorted([begin] * 3 + [_after(begin, rng.uniform(0, span)) for _ in range(count - 3)])
        names = rng.sample(TASKS * 2, count)
        free = [begin, begin]  # when each of the two people is next free
        for created, name in zip(created_times, names, strict=True):
            number = len(tasks) + 1
            person = free.index(min(free))
            moment = _after(max(created + timedelta(hours=rng.uniform(2, 72)), free[person]), 0)
            route = [(0.0, "To Do", "In Progress"), *task_work(rng)]
            changes = []
            for days, before, after in route:
                moment = _after(moment, days)
                if moment > SNAPSHOT:
                    break
                changes.append((moment, before, after))
            # The person is busy until the task is done (or the snapshot).
            free[person] = moment if changes and changes[-1][2] == "Done" else SNAPSHOT + timedelta(days=1)
            status = changes[-1][2] if changes else "To Do"
            tasks.append(task_issue(f"DEL-{number}", str(300000 + number), epic, name, created,
                                    status, changes))
    return tasks


def task_issue(key: str, issue_id: str, epic: dict, name: str, created: datetime, status: str,
               changes: list[tuple[datetime, str, str]]) -> dict:
    category = TASK_STATUS_CATEGORY[status]
    category_id, category_name = CATEGORY_NAMES[category]
    fields = {
        "project": TASK_PROJECT,
        "issuetype": {"id": "10001", "name": "Story", "subtask": False},
        "summary": f"{name}: {epic['fields']['summary']}",
        "description": "Synthetic delivery task generated for the embedded sample; it is not "
                       "real Kubernetes work, and its dates and status history are invented.",
        # The epic's teams: a task is not a request awaiting triage.
        "components": epic["fields"]["components"],
        "labels": ["synthetic", "delivery-task"],
        "status": {"name": status,
                   "statusCategory": {"id": category_id, "key": category, "name": category_name}},
        "resolution": {"name": "Done"} if category == "done" else None,
        "priority": {"name": "Medium"},
        "created": _jira_time(created, key),
        "updated": _jira_time(changes[-1][0] if changes else created, key),
        "resolutiondate": _jira_time(changes[-1][0], key) if category == "done" else None,
        "parent": {"id": epic["id"], "key": epic["key"],
                   "fields": {"summary": epic["fields"]["summary"]}},
        "issuelinks": [],
        "attachment": [],
    }
    return {"id": issue_id, "key": key, "self": f"{JIRA}/rest/api/2/issue/{issue_id}",
            "fields": fields, "changelog": changelog(key, issue_id, changes)}


if __name__ == "__main__":
    main()

"""Build the embedded sample (`data/sample/`) from the Kubernetes Enhancement Proposals corpus.

Each chosen proposal becomes what a Jira export of it would hold: a Jira REST API v2 issue JSON
in `issues/` (summary = title, description = the proposal's own summary, components = its teams,
status, dates, issue links) and its design document as an attachment file in
`attachments/<attachment id>/<name>.md`. The newest proposals become new, open requests with no
teams yet (the ones to triage); the rest are past projects whose teams are known.

Usage: python data/build_sample.py [--corpus ../shared/data/keps-dev.bench.jsonl] [--size 100]

Deterministic: the same corpus gives byte-identical output.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from collections import Counter
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
    print(f"wrote {len(chosen)} requests ({args.open} open), {words:,} words, to {args.out}")
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
    for folder in ("issues", "attachments"):
        shutil.rmtree(out / folder, ignore_errors=True)
        (out / folder).mkdir(parents=True)
    open_keys = {short_key(r["key"]) for r in chosen[len(chosen) - n_open:]}
    for record in chosen:
        key = short_key(record["key"])
        issue, attachment_name, attachment_id = jira_issue(record, key in open_keys, titles)
        (out / "issues" / f"{key}.json").write_text(
            json.dumps(issue, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        folder = out / "attachments" / attachment_id
        folder.mkdir()
        (folder / attachment_name).write_text(record["text"], encoding="utf-8")


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
        "updated": created,
        "resolutiondate": None,
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
             "fields": fields}
    return issue, attachment_name, attachment_id


if __name__ == "__main__":
    main()

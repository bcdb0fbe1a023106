"""The `briefs` section of `impacting eval`: what briefs built from the test records ask of
readers.

Each test record is triaged by the team model trained on the train records (the `teams`
section's model) and turned into a brief by the same :func:`gather_brief` the nightly run uses.
Two figures:

- `teams_to_read_recall`: the share of the records' true teams that their briefs list under
  "teams to read" or "unsure"; it equals `teams.unsure_or_notify_recall`, because a brief shows
  exactly the model's decisions (`matches_eval` checks it);
- `section_share`: for each notified team, the share of the record's prose words that its
  "sections to read" hold, averaged over (record, notified team) pairs. A team for which no
  section stands out counts as reading everything (1.0).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from impacting.people.brief import Brief
from impacting.people.gather import BriefInputs, gather_brief
from impacting.people.reading import COVER, MAX_SECTIONS, teams_evidence
from impacting.triage.corpus import Corpus
from impacting.triage.metrics import NOTIFY, UNSURE, decision_metrics
from impacting.triage.predict import TriageResult, triage
from impacting.triage.rows import prediction_rows
from impacting.triage.teams import TeamModel


def test_briefs(model: TeamModel, test: Corpus, result: TriageResult) -> list[Brief]:
    """A brief per test record, with the model's decisions (`result`) and each asked team's
    evidence."""
    rows = prediction_rows(result, "evaluation", datetime.now(UTC)).to_dict("records")
    by_request: dict[str, list[dict]] = {}
    for row in rows:
        by_request.setdefault(row["request_key"], []).append(row)
    briefs = []
    for i, request in enumerate(test.requests):
        decisions = by_request.get(request.key, [])
        asked = [d["team"] for d in decisions if d["decision"] in (NOTIFY, UNSURE)]
        evidence = teams_evidence(model, test.passages[i], test.passage_vectors[i], asked,
                                  {request.key: "document"})
        briefs.append(gather_brief(BriefInputs(
            request={"key": request.key, "summary": request.title}, summaries={}, part_names={},
            keywords=(), predictions=decisions, evidence=evidence, similar=(), durations={},
            documents=(), model={"version": "evaluation"}, past_projects=len(model.training_keys),
            min_score=0.0), datetime.now(UTC)))
    return briefs


def briefs_section(model: TeamModel, test: Corpus, log: Callable[[str], None] | None = None) -> dict:
    """The two figures of the module docstring, and what they are made of."""
    result = triage(model, test, explain=False)
    briefs = test_briefs(model, test, result)
    truth = [set(r.teams) for r in test.requests]
    hit = sum(len(labels & {t.team for t in (*b.notified, *b.unsure)}) for b, labels in zip(
        briefs, truth, strict=True))
    total = sum(len(labels) for labels in truth)
    recall = hit / total if total else 0.0
    expected = decision_metrics(truth, model.teams, result.decisions)
    shares = [t.section_share if t.section_share is not None else 1.0
              for b in briefs for t in b.notified]
    with_sections = [t for b in briefs for t in b.notified if t.sections]
    out = {
        "teams_to_read_recall": recall,
        "unsure_or_notify_recall": expected["unsure_or_notify_recall"],
        "matches_eval": bool(np.isclose(recall, expected["unsure_or_notify_recall"])),
        "section_share": float(np.mean(shares)) if shares else None,
        "section_share_median": float(np.median(shares)) if shares else None,
        "notified_pairs": len(shares),
        "pairs_with_sections": len(with_sections),
        "sections_per_team": float(np.mean([len(t.sections) for t in with_sections])) if with_sections
        else None,
        "request_words_mean": float(np.mean([sum(c.words for c in p) for p in test.passages]))
        if len(test) else None,
        "cover": COVER,
        "max_sections": MAX_SECTIONS,
        "n_test": len(test),
    }
    if log:
        log(f"briefs: teams to read + unsure hold {recall:.3f} of the true teams (eval: "
            f"{expected['unsure_or_notify_recall']:.3f}); sections to read hold "
            f"{out['section_share'] or 0:.1%} of a document's words on average")
    return out

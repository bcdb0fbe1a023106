"""Brief inputs as the warehouse's rows would hold them, hostile text included, for fast tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from impacting.people.gather import BriefInputs
from impacting.people.reading import DESCRIPTION, Quote, SectionToRead, TeamEvidence

SCRIPT = "<script>alert('title')</script>"
IMG = '<img src=x onerror="alert(1)">'
JS_LINK = "[click me](javascript:alert(document.cookie))"
HOSTILE = f"{SCRIPT} {IMG} {JS_LINK}"
NOW = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
MODEL = {"version": "20240501T000000-abcdef12", "trained_at": pd.Timestamp("2024-05-01", tz="UTC"),
         "cv_notify_recall": 0.95}


def inputs(**changes) -> BriefInputs:
    """A request awaiting triage with one document, one notified, one unsure and one other team,
    and one similar past project; `changes` replace any field."""
    values = dict(
        request={"key": "REQ-7", "summary": f"Volume topology {SCRIPT}", "status": "Open",
                 "created_at": pd.Timestamp("2024-04-30T10:00:00Z"), "reporter": f"Mallory {IMG}",
                 "url": "https://jira.example.com/browse/REQ-7"},
        summaries={"executive": {"text": f"Drivers report topology. {HOSTILE}", "degree": "60 words",
                                 "parts": ["doc-1", "REQ-7/description"], "request_words": 1200},
                   "standard": {"text": "Drivers report topology, and the scheduler uses it.",
                                "degree": "ratio 0.1", "parts": ["doc-1", "REQ-7/description"],
                                "request_words": 1200}},
        part_names={"doc-1": f"design {IMG}.md", "REQ-7/description": DESCRIPTION},
        keywords=["volume topology", f"csi {SCRIPT}"],
        predictions=[
            {"team": "sig-storage", "probability": 0.83, "decision": "notify", "threshold": 0.41,
             "unsure_threshold": 0.2, "reason": "sig-storage (p=0.83 ≥ 0.41): ...", "decided_by": "model"},
            {"team": f"ops {SCRIPT}/x", "probability": 0.3, "decision": "unsure", "threshold": 0.5,
             "unsure_threshold": 0.25, "reason": "unsure", "decided_by": "model"},
            {"team": "sig-node", "probability": 0.02, "decision": "not_notified", "threshold": 0.4,
             "unsure_threshold": 0.2, "reason": "sig-node (p=0.02 < 0.20): not notified",
             "decided_by": "model"}],
        evidence={"sig-storage": TeamEvidence(
            (Quote(f"CSI drivers must report topology {JS_LINK}", f"design {IMG}.md",
                   f"Design {SCRIPT}"),),
            (SectionToRead(f"design {IMG}.md", f"Design {SCRIPT}", 300),), 1200)},
        similar=[{"similar_key": "REQ-2", "summary": f"Old topology work {IMG}", "score": 0.71,
                  "teams": ["sig-storage"], "assignee": f"Bob {SCRIPT}", "reporter": None,
                  "status": "Done", "resolution": "Fixed", "url": "javascript:alert(1)",
                  "closest_passages": f"'a' ~ 'b' {SCRIPT}"}],
        durations={"REQ-2": {"cycle_time_days": 41.6, "lead_time_days": 90.0, "status_category": "done"}},
        documents=[{"document_id": "doc-1", "file_name": f"design {IMG}.md", "format": "markdown",
                    "word_count": 1300, "extraction_status": "ok"},
                   {"document_id": "doc-2", "file_name": "scan.pdf", "format": "pdf",
                    "extraction_status": "skipped",
                    "extraction_reason": "no text layer (a scan?): run OCR, or attach the source"}],
        model=MODEL, past_projects=40, min_score=0.17)
    values.update(changes)
    return BriefInputs(**values)

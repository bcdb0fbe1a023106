"""The document reader process keeps its promises: a runaway read is stopped at the time limit,
a bomb at the memory ceiling, each with the reason, and the next document is read as usual."""

import pytest

from impacting.sources.documents.extract import extract_text
from impacting.sources.documents.limits import ExtractionLimits
from impacting.sources.documents.worker import ExtractionWorker
from impacting_tests.hostile import docx_bomb

pytestmark = pytest.mark.slow  # starts reader processes and inflates a bomb
SMALL = b"# Title\n\nA short design document."


def test_a_read_past_the_time_limit_is_stopped_and_the_next_document_is_read():
    # Some 15 MB of text cannot be read in 50 ms on any machine (pickling it alone takes longer).
    huge = ("word " * 3_000_000).encode()
    with ExtractionWorker(ExtractionLimits(None, None, 0.05, None)) as worker:
        stopped = worker.extract(huge, "huge.md")
        assert stopped.status == "skipped" and "took too long to read" in stopped.reason
        assert "IMPACTING_DOCUMENT_TIMEOUT_SECONDS" in stopped.reason and worker.restarts == 1
        assert worker.extract(SMALL, "next.md").status == "ok"


def test_a_bomb_is_stopped_at_the_memory_ceiling_with_the_reason_and_the_next_document_is_read():
    bomb = docx_bomb(150_000)  # 0.4 MB that inflates to ~160 MB of XML; the inflation check is off
    with ExtractionWorker(ExtractionLimits(None, None, 300, 150 * 1024 * 1024)) as worker:
        stopped = worker.extract(bomb, "bomb.docx")
        assert stopped.status == "skipped", stopped.reason
        assert "more memory than the limit" in stopped.reason
        assert "IMPACTING_DOCUMENT_MAX_MEMORY_MB" in stopped.reason
        assert worker.extract(SMALL, "next.md").status == "ok"


def test_words_past_the_limit_are_cut_with_the_reason():
    kept = extract_text(("word " * 1000).encode(), "long.md", limits=ExtractionLimits(None, 100, None, None))
    assert kept.status == "ok" and kept.word_count == 100
    assert "kept the first 100 of 1,000 words" in kept.reason

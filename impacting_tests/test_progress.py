"""Progress lines on long work, and the fingerprints that let a quiet run skip a step."""

import duckdb
import pandas as pd

from impacting.language.encoder import Encoder
from impacting.progress import Progress, duration
from impacting.warehouse.fingerprints import inputs_fingerprint, outputs_fingerprint
from impacting.warehouse.store import ensure_tables, replace_rows
from impacting.warehouse.tables import DOCUMENTS, PROJECTS


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_speaks_at_the_interval_with_counts_rate_and_time_left():
    clock, said, encoder = Clock(), [], Encoder()
    progress = Progress("documents", 100, said.append, encoder, interval=10, clock=clock)
    for _ in range(9):  # quick items: nothing said before the interval has passed
        clock.now += 1
        encoder.stats.texts += 50
        progress.advance()
    assert said == []
    clock.now += 1
    encoder.stats.texts += 50
    progress.advance()
    assert said == ["progress: 10/100 documents (10%), 500 texts embedded (50/s), 1.00 documents/s, "
                    "about 2 min left"]
    progress.update(20)  # no time has passed: quiet
    assert len(said) == 1
    clock.now += 110
    progress.update(100, 100)  # the last item: the closing line says it, not a progress line
    progress.finish()
    assert said[1:] == ["progress: 100/100 documents done in 2 min, 500 texts embedded (4/s)"]


def test_durations_read_naturally():
    assert [duration(s) for s in (42, 180, 3900)] == ["42 s", "3 min", "1 h 05 min"]


def test_a_fingerprint_changes_with_any_row_or_setting_and_not_with_row_order():
    con = duckdb.connect()
    ensure_tables(con, [PROJECTS, DOCUMENTS])
    rows = [{"key": f"A-{n}", "summary": f"request {n}"} for n in range(3)]


    replace_rows(con, PROJECTS, pd.DataFrame(rows))
    first = inputs_fingerprint(con, [PROJECTS, DOCUMENTS], model="m")
    replace_rows(con, PROJECTS, pd.DataFrame(rows[::-1]))
    assert inputs_fingerprint(con, [PROJECTS, DOCUMENTS], model="m") == first
    assert inputs_fingerprint(con, [PROJECTS, DOCUMENTS], model="other") != first
    replace_rows(con, PROJECTS, pd.DataFrame([*rows[:2], {"key": "A-2", "summary": "request 2, edited"}]))
    assert inputs_fingerprint(con, [PROJECTS, DOCUMENTS], model="m") != first
    # A row twice is not the same table as the row once (an order-free sum, not only an xor).
    before = outputs_fingerprint(con, [PROJECTS])
    replace_rows(con, PROJECTS, pd.DataFrame([*rows[:2], {"key": "A-2", "summary": "request 2, edited"},
                                              rows[0], rows[0]]))
    assert outputs_fingerprint(con, [PROJECTS]) != before

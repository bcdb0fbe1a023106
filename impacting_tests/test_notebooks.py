"""The analyst notebooks: committed without outputs, and executed end to end on a published
warehouse, as an analyst would run them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from impacting.settings import var

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_notebooks_are_committed_without_outputs():
    assert {p.name for p in NOTEBOOKS} >= {"explore_warehouse.ipynb", "leaders_and_analysts.ipynb"}
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        assert code and all(not c["outputs"] and c["execution_count"] is None for c in code), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_end_to_end_on_the_published_warehouse(path, insight_sample, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv(var("warehouse.path"), str(insight_sample.warehouse))
    notebook = nbformat.read(path, as_version=4)
    # Raises CellExecutionError, naming the cell, if any cell fails.
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs and not [o for o in outputs if o.output_type == "error"]
    if path.name == "leaders_and_analysts.ipynb":
        shown = json.dumps([o.get("data", {}) for o in outputs])
        assert shown.count("image/png") >= 4  # load, themes, funnel and bottleneck charts
        for table in ("KEP-1490", "theme_id", "reading_hours_saved", "bottleneck_status"):
            assert table in shown, table

"""Skipping a step whose inputs have not changed: the Dagster side of `warehouse/fingerprints.py`.

A step records its input and output fingerprints in its materialisation metadata. Next run, when
every selected asset of the step last materialised with the same input fingerprint and its
tables still hold exactly what it wrote, the step re-reports its last result (marked `skipped`,
its rejects carried over so `rejects` keeps them) instead of recomputing it. With no record
(a new Dagster instance, a test's ephemeral one) the step simply computes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dagster as dg
import duckdb

from impacting.warehouse.fingerprints import inputs_fingerprint, outputs_fingerprint
from impacting.warehouse.tables import Table

SKIPPED = "skipped"
INPUTS = "input_fingerprint"
OUTPUTS = "output_fingerprint"
# What a skipped step carries over from its last result: what other steps read from it.
CARRIED = ("rejects", "problems", "dagster/row_count")


@dataclass(frozen=True)
class Previous:
    run_id: str
    metadata: dict


def unchanged(context: dg.AssetExecutionContext, inputs: str,
              outputs: str) -> dict[dg.AssetKey, Previous] | None:
    """The last result of every selected asset of this step, when all of them were made from
    the same inputs and their outputs are untouched since; otherwise None (compute)."""
    found = {}
    for key in context.selected_asset_keys:
        event = context.instance.get_latest_materialization_event(key)
        if event is None or event.asset_materialization is None:
            return None
        metadata = event.asset_materialization.metadata
        recorded_inputs, recorded_outputs = metadata.get(INPUTS), metadata.get(OUTPUTS)
        if recorded_inputs is None or recorded_outputs is None or recorded_inputs.value != inputs \
                or recorded_outputs.value != outputs:
            return None
        found[key] = Previous(event.run_id, dict(metadata))
    return found


def skipped(previous: Previous, inputs: str, outputs: str) -> dict:
    """The metadata a skipped asset reports: that it was skipped, since which run, and what it
    carries over."""
    return {name: previous.metadata[name] for name in CARRIED if name in previous.metadata} | {
        SKIPPED: True,
        "reused_from_run": previous.run_id,
        INPUTS: inputs,
        OUTPUTS: outputs,
    }


def recorded(inputs: str, outputs: str) -> dict:
    """The metadata that lets the next run skip this step."""
    return {SKIPPED: False, INPUTS: inputs, OUTPUTS: outputs}


class Reuse:
    """One step's skip decision: `previous` is set when the step may skip; then `results()` are
    what it reports. Otherwise it computes and adds `record(con)` to its metadata. `files` says
    what the step wrote outside the database (e.g. a page's size and time), for its outputs."""

    def __init__(self, context: dg.AssetExecutionContext, con: duckdb.DuckDBPyConnection,
                 inputs: Sequence[Table], outputs: Sequence[Table],
                 files: Callable[[], dict] = dict, **settings):
        self.context, self.outputs, self.files = context, tuple(outputs), files
        self.inputs = inputs_fingerprint(con, inputs, **settings)
        self.outputs_before = outputs_fingerprint(con, self.outputs, **files())
        self.previous = unchanged(context, self.inputs, self.outputs_before)
        if self.previous:
            run = next(iter(self.previous.values())).run_id
            context.log.info(f"inputs unchanged since run {run}: nothing recomputed")

    def results(self) -> list[dg.MaterializeResult]:
        """One result per selected asset, re-reporting the last one as skipped, each after the
        assets of the same step it depends on (Dagster wants a multi-asset's in that order)."""
        previous = self.previous or {}
        return [dg.MaterializeResult(asset_key=key, metadata=skipped(previous[key], self.inputs,
                                                                     self.outputs_before))
                for key in dependency_order(self.context, list(previous))]

    def record(self, con: duckdb.DuckDBPyConnection) -> dict:
        """Metadata for a step that computed: its fingerprints, the outputs' taken now."""
        return recorded(self.inputs, outputs_fingerprint(con, self.outputs, **self.files()))


def dependency_order(context: dg.AssetExecutionContext, keys: list[dg.AssetKey]) -> list[dg.AssetKey]:
    """`keys` (assets of this step) ordered so that each comes after those it depends on."""
    specs = {spec.key: spec for spec in context.assets_def.specs}
    needs = {key: {dep.asset_key for dep in specs[key].deps} & set(keys) if key in specs else set()
             for key in keys}
    ordered: list[dg.AssetKey] = []
    while needs:
        ready = [key for key, deps in needs.items() if deps <= set(ordered)] or list(needs)
        ready.sort(key=lambda key: key.to_user_string())
        ordered += ready
        for key in ready:
            del needs[key]
    return ordered


def file_state(path) -> dict:
    """A written file as an output: its size and modification time (absent: None)."""
    try:
        stat = path.stat()
    except OSError:
        return {str(path): None}
    return {str(path): [stat.st_size, stat.st_mtime_ns]}

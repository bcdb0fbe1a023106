"""The Dagster layer: wiring, configuration and reporting only; the logic lives in the stages."""

"""A Jira description field, whichever API it came from, as plain text."""

from __future__ import annotations

from impacting.sources.markup.adf import adf_from_json, adf_to_text
from impacting.sources.markup.wiki import wiki_to_text


def description_to_text(value: str | dict | None) -> str:
    """A Jira description field as plain text: None -> "", dict -> ADF, str -> wiki markup
    (or ADF, when the string is an ADF document serialised as JSON)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return adf_to_text(value)
    if isinstance(value, str):
        document = adf_from_json(value)
        return adf_to_text(document) if document is not None else wiki_to_text(value)
    raise TypeError(f"a Jira description is str, dict or None, not {type(value).__name__}")

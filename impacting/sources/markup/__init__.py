"""Jira descriptions -> plain text, in the same Markdown-style shape as design documents.

Jira hands descriptions over as wiki markup (REST API v2, `wiki`) or as Atlassian Document
Format (ADF, REST API v3, `adf`); `description_to_text` takes either. Both become: `#`
heading lines, `- ` / `1. ` list items (nested items indented two spaces per level), fenced
code, table rows with cells joined by " | ", and paragraphs separated by one blank line.
Links keep their target as `text (url)`. The block layout itself is shared with design
documents (`impacting.sources.documents.blocks`).
"""

from impacting.sources.markup.adf import adf_to_text
from impacting.sources.markup.description import description_to_text
from impacting.sources.markup.wiki import wiki_to_text

__all__ = ["adf_to_text", "description_to_text", "wiki_to_text"]

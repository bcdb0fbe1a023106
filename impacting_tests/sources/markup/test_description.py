"""`description_to_text`: a description field from either API."""

from __future__ import annotations

import json

import pytest

from impacting.sources.markup import description_to_text
from impacting_tests.sources.markup.adf_nodes import paragraph, text


def test_description_dispatches_on_type():
    assert description_to_text(None) == ""
    assert description_to_text("h1. Title\n*bold*") == "# Title\n\nbold"
    assert description_to_text({"type": "doc", "content": [paragraph(text("hi"))]}) == "hi"


def test_description_string_holding_adf_json_is_read_as_adf():
    serialised = json.dumps({"type": "doc", "version": 1, "content": [paragraph(text("hi"))]})
    assert description_to_text(serialised) == "hi"
    assert description_to_text('{"type": "doc" is not json') == '{"type": "doc" is not json'


def test_description_rejects_other_types():
    with pytest.raises(TypeError):
        description_to_text(42)  # type: ignore[arg-type]

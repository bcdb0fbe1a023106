"""Builders for small ADF documents."""

from __future__ import annotations


def text(value: str, **extra) -> dict:
    return {"type": "text", "text": value, **extra}


def paragraph(*content: dict) -> dict:
    return {"type": "paragraph", "content": list(content)}


def item(*content: dict) -> dict:
    return {"type": "listItem", "content": list(content)}


def link(value: str, href: str, *marks: dict) -> dict:
    return text(value, marks=[*marks, {"type": "link", "attrs": {"href": href}}])

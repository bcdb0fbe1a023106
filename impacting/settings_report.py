"""What people read of the settings: `impacting config` and the README's settings tables.

The README's tables are rendered from the schema between `<!-- settings:TOPIC -->` and
`<!-- /settings -->` markers; `python -m impacting.settings_report` rewrites them and a test fails
when they are stale.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from impacting.settings import GROUPS, Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def _shown(value: Any, secret: bool) -> str:
    if value is None or value == () or value == {}:
        return "unset"
    if secret:
        return "*** (set)"
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def effective_settings(settings: Settings, env: Mapping[str, str] | None = None) -> list[dict]:
    """Every setting with its variable, effective value (secrets masked) and where it came from."""
    env = os.environ if env is None else env
    rows = []
    for model in GROUPS:
        group = getattr(settings, model.group)
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra
            rows.append({
                "group": model.group, "setting": name, "variable": extra["env"],
                "value": _shown(getattr(group, name), extra["secret"]),
                "from": "environment" if str(env.get(extra["env"], "")).strip() else "default",
            })
    return rows


def fields_by_topic() -> dict[str, list[tuple[str, Any]]]:
    """(variable, field info) per README topic, in declaration order."""
    topics: dict[str, list[tuple[str, Any]]] = {}
    for model in GROUPS:
        for info in model.model_fields.values():
            extra = info.json_schema_extra
            topics.setdefault(extra["topic"] or model.group, []).append((extra["env"], info))
    return topics


def _default_text(info) -> str:
    extra = info.json_schema_extra
    if extra["shown_default"] is not None:
        return extra["shown_default"]
    default = info.get_default(call_default_factory=True)
    if isinstance(default, Path):
        return f"`{default.as_posix()}`"
    return "" if default is None else f"`{_shown(default, False)}`"


def settings_markdown(topic: str) -> str:
    """The README table of one topic's settings: variable, default, meaning (and range)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for variable, info in fields_by_topic()[topic]:
        bounds = [f"{name} {value}" for name, value in _bounds(info)]
        meaning = info.description + (f" (range: {', '.join(bounds)})" if bounds else "")
        lines.append(f"| `{variable}` | {_default_text(info)} | {meaning.replace('|', '/')} |")
    return "\n".join(lines)


def _bounds(info) -> list[tuple[str, Any]]:
    symbols = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    out = []
    for item in info.metadata:
        for name, symbol in symbols.items():
            value = getattr(item, name, None)
            if value is not None:
                out.append((symbol, value))
    return out



_BLOCK = re.compile(r"(<!-- settings:(?P<topic>[a-z_]+) -->\n).*?(<!-- /settings -->)", re.S)


def render_readme(text: str) -> str:
    """`text` with every settings block re-rendered from the schema."""
    return _BLOCK.sub(lambda m: f"{m.group(1)}{settings_markdown(m.group('topic'))}\n{m.group(3)}", text)


def readme_topics(text: str) -> set[str]:
    return {m.group("topic") for m in _BLOCK.finditer(text)}


if __name__ == "__main__":
    README.write_text(render_readme(README.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"wrote the settings tables of {README}\n")

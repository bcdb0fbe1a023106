"""The machinery of the settings schema: how a setting is declared, read and checked.

`impacting.settings` declares every setting with :func:`setting`, grouped in
:class:`SettingsGroup` models; this module holds what those declarations share: the value types
(paths that resolve against the checkout, comma-separated names, `Name=value` pairs, secrets),
reading a group from the environment, and errors that name the variable and a good value.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import core_schema

from impacting.errors import ActionableError

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The checkout the package runs from (editable install), else the current directory.

    Relative paths in settings resolve against it, so `make run`, `dagster dev` and the daemon
    agree on where the warehouse is whatever directory they were started from.
    """
    candidate = PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "workspace.yaml").is_file():
        return candidate
    return Path.cwd()


class SettingsError(ActionableError, ValueError):
    """A setting is missing or malformed; the message names the variable and the fix."""


class Secret:
    """A credential that never shows itself in logs, reprs, metadata or error messages."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source, handler) -> core_schema.CoreSchema:
        def to_secret(value: Any) -> Secret | None:
            if isinstance(value, Secret):
                return value if value else None
            text = str(value).strip()
            return cls(text) if text else None

        return core_schema.no_info_plain_validator_function(
            to_secret, serialization=core_schema.plain_serializer_function_ser_schema(
                lambda s: "***", when_used="json"))


# --- value types: each accepts what the environment gives (text) and what the launchpad gives ---

def resolve_path(value: Path) -> Path:
    value = value.expanduser()
    return value if value.is_absolute() else project_root() / value


def _names(value: Any) -> Any:
    """Comma-separated text (the environment) or a list (the launchpad) → unique names."""
    parts = value.split(",") if isinstance(value, str) else list(value or ())
    return tuple(dict.fromkeys(str(p).strip() for p in parts if str(p).strip()))


def _pairs(value: Any) -> Any:
    """`Name=value,Other=value` (the environment) or a mapping (the launchpad) → a dict."""
    if not isinstance(value, str):
        return dict(value or {})
    out = {}
    for part in value.split(","):
        if part.strip():
            name, _, item = part.rpartition("=")
            if not name.strip():
                raise ValueError(f"{part.strip()!r} is not a 'Name=value' pair")
            out[name.strip()] = item.strip()
    return out


ProjectPath = Annotated[Path, AfterValidator(resolve_path)]
Names = Annotated[tuple[str, ...], BeforeValidator(_names)]
Pairs = Annotated[dict[str, str], BeforeValidator(_pairs)]


def setting(default: Any = None, *, env: str, description: str, example: str = "",
            secret: bool = False, shown_default: str | None = None, topic: str | None = None,
            **constraints: Any) -> Any:
    """One declared setting: its environment variable, meaning, an example of a good value
    (said back when a value is refused), whether it is a secret, and its range (`ge`, `le`)."""
    extra = {"env": env, "example": example, "secret": secret, "shown_default": shown_default,
             "topic": topic}
    if isinstance(default, dict):
        return Field(default_factory=dict, description=description, json_schema_extra=extra,
                     **constraints)
    return Field(default, description=description, json_schema_extra=extra, **constraints)


class SettingsGroup(BaseModel):
    """A group of settings read together (one Dagster resource, one README table)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True,
                              validate_default=True)
    group: ClassVar[str] = ""

    @classmethod
    def env(cls, field: str) -> str:
        """The environment variable of `field`."""
        return cls.model_fields[field].json_schema_extra["env"]

    @classmethod
    def from_values(cls, values: Mapping[str, Any], origin: Mapping[str, str] | None = None):
        """The group from raw values (text from the environment or values from the launchpad);
        a refused value raises :class:`SettingsError` naming its variable and a good value."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as error:
            raise SettingsError(_explain(cls, error, values)) from None

    @classmethod
    def from_env(cls, env: Mapping[str, str]):
        values = {}
        for name, info in cls.model_fields.items():
            raw = env.get(info.json_schema_extra["env"], "")
            if str(raw).strip():
                values[name] = str(raw).strip()
        return cls.from_values(values)


def _explain(model: type[SettingsGroup], error: ValidationError, values: Mapping[str, Any]) -> str:
    lines = []
    for item in error.errors():
        field = item["loc"][0] if item["loc"] else None
        custom = item["type"] == "value_error"
        reason = str(item["ctx"]["error"]) if custom and "ctx" in item else item["msg"]
        if field not in model.model_fields:
            lines.append(reason)
            continue
        info = model.model_fields[field]
        env = model.env(field)
        if not custom:
            example = info.json_schema_extra.get("example") or info.description
            lines.append(f"{env}={values.get(field)!r} is not valid; use {example}")
        elif env in reason:
            lines.append(reason)
        else:
            lines.append(f"{env}={values.get(field)!r}: {reason}; use "
                         f"{info.json_schema_extra.get('example') or info.description}")
    return "; ".join(dict.fromkeys(lines))


def resource_type(annotation: Any) -> Any:
    """The plain type a Dagster config field can hold for a settings annotation: paths, times
    and secrets as text, names as a list, overrides as a mapping."""
    if typing.get_origin(annotation) is Annotated:
        return resource_type(typing.get_args(annotation)[0])
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [resource_type(a) for a in typing.get_args(annotation) if a is not type(None)]
        return inner[0] | None
    if origin is Literal:
        return str
    if origin is tuple:
        return list[str]
    if origin is dict:
        return dict[str, str]
    if annotation in (Path, datetime, Secret):
        return str
    return annotation

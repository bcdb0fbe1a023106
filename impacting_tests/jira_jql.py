"""The part of JQL the Jira-compatible test server understands, with Jira's own error messages.

Clauses `field op value`, `field [NOT] IN (...)`, `field IS [NOT] EMPTY`, joined by AND / OR /
NOT and parentheses, then `ORDER BY field [ASC|DESC], ...`. Dates (`created`, `updated`,
`resolved`) take `yyyy/MM/dd HH:mm`, `yyyy-MM-dd HH:mm`, `yyyy/MM/dd`, `yyyy-MM-dd` or `-5d`,
read in the searching user's time zone, as Jira does: the query is minute-precise, the
issues' timestamps are not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from impacting.sources.jira_fields import parse_jira_time

Issue = dict[str, Any]
Predicate = Callable[[Issue], bool]

OPERATORS = ("!=", ">=", "<=", "!~", "=", ">", "<", "~")
KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}
DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
DATE_HELP = ("Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', "
             "'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.")


class JqlError(ValueError):
    """What Jira answers with 400: the message is in Jira's words."""


@dataclass(frozen=True)
class Token:
    kind: str  # word | string | op | punct | end
    text: str
    position: int


@dataclass(frozen=True)
class Query:
    matches: Predicate
    order: list[tuple[str, bool]]  # (field, descending)

    def sort(self, issues: list[Issue]) -> list[Issue]:
        ordered = sorted(issues, key=lambda issue: int(issue["id"]))
        for name, descending in reversed(self.order or [("key", True)]):
            ordered.sort(key=lambda issue, name=name: _sort_value(issue, name), reverse=descending)
        return ordered


def tokens(text: str) -> list[Token]:
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif char in "\"'":
            end, value, escaped = index + 1, [], False
            while end < len(text):
                if escaped:
                    value.append(text[end])
                    escaped = False
                elif text[end] == "\\":
                    escaped = True
                elif text[end] == char:
                    break
                else:
                    value.append(text[end])
                end += 1
            if end >= len(text):
                raise JqlError(f"Error in the JQL Query: The quoted string '{text[index + 1:]}' has not "
                               f"been completed. (line 1, character {index + 1})")
            out.append(Token("string", "".join(value), index))
            index = end + 1
        elif char in "(),":
            out.append(Token("punct", char, index))
            index += 1
        elif any(text.startswith(op, index) for op in OPERATORS):
            op = next(op for op in OPERATORS if text.startswith(op, index))
            out.append(Token("op", op, index))
            index += len(op)
        else:
            match = re.compile(r"[\w.\-/:*]+").match(text, index)
            if not match:
                raise JqlError(f"Error in the JQL Query: The character '{char}' is a reserved JQL "
                               f"character. You must enclose it in a string or use the escape "
                               f"'\\u{ord(char):04x}' instead. (line 1, character {index + 1})")
            out.append(Token("word", match.group(), index))
            index = match.end()
    out.append(Token("end", "", len(text)))
    return out


class Parser:
    def __init__(self, text: str, *, zone: ZoneInfo, now: datetime, known_keys: set[str],
                 known_projects: set[str]):
        self.items = tokens(text)
        self.index = 0
        self.zone, self.now = zone, now
        self.known_keys, self.known_projects = known_keys, known_projects

    # -- the grammar ------------------------------------------------------------------------

    def query(self) -> Query:
        predicate: Predicate = lambda issue: True  # noqa: E731 - an empty query matches all
        if not self._keyword("order") and self._peek().kind != "end":
            predicate = self._or()
        order = []
        if self._keyword("order"):
            self._next()
            if not self._keyword("by"):
                self._fail("Expecting 'by' but got '{}'.")
            self._next()
            while True:
                name = self._next()
                if name.kind not in {"word", "string"}:
                    self._fail("Expecting a field name but got '{}'.", name)
                descending = False
                if self._keyword("asc") or self._keyword("desc"):
                    descending = self._next().text.lower() == "desc"
                order.append((_field(name.text), descending))
                if self._peek().text != ",":
                    break
                self._next()
        if self._peek().kind != "end":
            self._fail("Expecting either 'OR' or 'AND' but got '{}'.")
        return Query(predicate, order)

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._keyword("or"):
            self._next()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda issue: any(p(issue) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._not()]
        while self._keyword("and"):
            self._next()
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else (lambda issue: all(p(issue) for p in parts))

    def _not(self) -> Predicate:
        if self._keyword("not"):
            self._next()
            inner = self._not()
            return lambda issue: not inner(issue)
        if self._peek().text == "(":
            self._next()
            inner = self._or()
            if self._peek().text != ")":
                self._fail("Expecting ')' but got '{}'.")
            self._next()
            return inner
        return self._clause()

    def _clause(self) -> Predicate:
        name_token = self._next()
        if name_token.kind not in {"word", "string"} or name_token.text.lower() in KEYWORDS:
            self._fail("Expecting a field name but got '{}'.", name_token)
        name = _field(name_token.text)
        if name not in FIELDS:
            raise JqlError(f"Field '{name_token.text}' does not exist or you do not have permission "
                           "to view it.")
        op_token = self._next()
        op = op_token.text.lower()
        if op == "not" and self._keyword("in"):
            self._next()
            op = "not in"
        elif op == "is":
            op = "is"
            if self._keyword("not"):
                self._next()
                op = "is not"
        elif op_token.kind != "op" and op != "in":
            self._fail("Expecting operator but got '{}'. The valid operators are '=', '!=', '<', "
                       "'>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'.", op_token)
        if op in {"is", "is not"}:
            word = self._next()
            if word.text.lower() not in {"empty", "null"}:
                self._fail("Expecting 'EMPTY' or 'NULL' but got '{}'.", word)
            empty = op == "is"
            return lambda issue: (not _values(issue, name)) == empty
        if op in {"in", "not in"}:
            values = self._list()
            for value in values:
                self._check(name, value)
            wanted = {self._normal(name, v) for v in values}
            def hit(issue: Issue) -> bool:
                return bool({_norm(v) for v in _values(issue, name)} & wanted)
            return hit if op == "in" else (lambda issue: not hit(issue))
        value = self._value()
        self._check(name, value)
        return self._compare(name, op, value)

    def _list(self) -> list[str]:
        if self._peek().text != "(":
            self._fail("Expecting '(' but got '{}'.")
        self._next()
        values = [self._value()]
        while self._peek().text == ",":
            self._next()
            values.append(self._value())
        if self._peek().text != ")":
            self._fail("Expecting ')' but got '{}'.")
        self._next()
        return values

    def _value(self) -> str:
        token = self._next()
        if token.kind not in {"word", "string"} or (token.kind == "word" and token.text.lower() in KEYWORDS):
            self._fail("Expecting either a value, list or function but got '{}'.", token)
        return token.text

    # -- meaning ----------------------------------------------------------------------------

    def _check(self, name: str, value: str) -> None:
        if name == "key" and value.upper() not in self.known_keys:
            raise JqlError(f"An issue with key '{value}' does not exist for field 'key'.")
        if name == "project" and value.upper() not in self.known_projects:
            raise JqlError(f"The value '{value}' does not exist for the field 'project'.")
        if name in DATE_FIELDS:
            self._date(name, value)

    def _normal(self, name: str, value: str) -> str:
        return _norm(value)

    def _compare(self, name: str, op: str, value: str) -> Predicate:
        if name in DATE_FIELDS:
            bound = self._date(name, value)
            compare = {"=": lambda a: a == bound, "!=": lambda a: a != bound, ">": lambda a: a > bound,
                       ">=": lambda a: a >= bound, "<": lambda a: a < bound, "<=": lambda a: a <= bound}
            if op not in compare:
                raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")
            test = compare[op]
            return lambda issue: any(test(v) for v in _values(issue, name))
        if op in {"~", "!~"}:
            needle = value.lower().strip("*")
            hit = lambda issue: any(needle in str(v).lower() for v in _values(issue, name))  # noqa: E731
            return hit if op == "~" else (lambda issue: not hit(issue))
        if op in {"=", "!="}:
            wanted = _norm(value)
            hit = lambda issue: wanted in {_norm(v) for v in _values(issue, name)}  # noqa: E731
            return hit if op == "=" else (lambda issue: not hit(issue))
        raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")

    def _date(self, name: str, value: str) -> datetime:
        period = re.fullmatch(r"([-+]?)(\d+)([mhdw])", value.strip())
        if period:
            amount = int(period.group(2)) * {"m": 60, "h": 3600, "d": 86400, "w": 604800}[period.group(3)]
            sign = -1 if period.group(1) == "-" else 1
            return self.now + timedelta(seconds=sign * amount)
        for pattern in DATE_FORMATS:
            try:
                wall = datetime.strptime(value.strip(), pattern)
            except ValueError:
                continue
            return wall.replace(tzinfo=self.zone).astimezone(UTC)
        raise JqlError(f"Date value '{value}' for field '{name}' is invalid. {DATE_HELP}")

    # -- tokens -----------------------------------------------------------------------------

    def _peek(self) -> Token:
        return self.items[self.index]

    def _next(self) -> Token:
        token = self.items[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        return token.kind == "word" and token.text.lower() == word

    def _fail(self, template: str, token: Token | None = None) -> None:
        token = token or self._peek()
        shown = token.text if token.kind != "end" else "<EOF>"
        raise JqlError(f"Error in the JQL Query: {template.format(shown)} "
                       f"(line 1, character {token.position + 1})")


def parse(text: str, *, zone: ZoneInfo, now: datetime, known_keys: set[str],
          known_projects: set[str]) -> Query:
    return Parser(text, zone=zone, now=now, known_keys=known_keys,
                  known_projects=known_projects).query()


# -- fields -------------------------------------------------------------------------------------

ALIASES = {"issuekey": "key", "type": "issuetype", "component": "components", "label": "labels",
           "resolved": "resolutiondate", "text": "summary"}
DATE_FIELDS = {"created", "updated", "resolutiondate"}


def _field(name: str) -> str:
    lowered = name.lower()
    return ALIASES.get(lowered, lowered)


def _named(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [name for item in value for name in _named(item)]
    if isinstance(value, dict):
        return [str(value[k]) for k in ("key", "name", "value", "id") if value.get(k)]
    return [str(value)]


def _values(issue: Issue, name: str) -> list[Any]:
    fields = issue["fields"]
    if name == "key":
        return [issue["key"]]
    if name == "id":
        return [issue["id"]]
    if name in DATE_FIELDS:
        value = parse_jira_time(fields.get(name))
        return [value] if value else []
    if name == "statuscategory":
        category = (fields.get("status") or {}).get("statusCategory") or {}
        return [category.get("name"), category.get("key")]
    if name == "summary":
        return [fields.get("summary") or "", fields.get("description") or ""]
    return _named(fields.get(name))


FIELDS = {"key", "id", "project", "issuetype", "status", "statuscategory", "components", "labels",
          "resolution", "priority", "summary", "description", "assignee", "reporter",
          *DATE_FIELDS}


def _norm(value: Any) -> str:
    return str(value).strip().lower()


def _sort_value(issue: Issue, name: str) -> Any:
    if name == "key":
        project, _, number = issue["key"].rpartition("-")
        return (project, int(number) if number.isdigit() else 0)
    if name in DATE_FIELDS:
        return parse_jira_time(issue["fields"].get(name)) or datetime.min.replace(tzinfo=UTC)
    values = _values(issue, name)
    return str(values[0]).lower() if values else ""

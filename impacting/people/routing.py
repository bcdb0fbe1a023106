"""The routing file: where each recipient is reached, read and checked once, line by line.

```yaml
site_url: https://triage.example.com/          # links in messages point to the briefs here
backlog_days: 14                               # older news is recorded, not sent
triage_lead: {email: triage-lead@example.com}  # receives the review queue
teams:
  sig-storage: {slack: "${SLACK_STORAGE_WEBHOOK}"}
  sig-node: {teams: "${TEAMS_NODE_WEBHOOK}", email: node-leads@example.com}
people:
  jdoe: {email: jdoe@example.com}              # a Jira account id, user name or display name
fallback: {webhook: "${TRIAGE_WEBHOOK}"}       # anyone without a route
smtp: {host: smtp.example.com, port: 587, starttls: true, from: triage@example.com,
       username: "${SMTP_USER}", password: "${SMTP_PASSWORD}"}
```

`${NAME}` is read from the environment when a message is sent, never before: the value is not
kept, logged or stored, and the file itself can live in git. Every mistake is reported with
the file and line (PyYAML's composed nodes carry their position), so a typo stops the run
before anything is sent rather than silently routing nothing. Without a routing file the
single webhook of `triage.alert_webhook_url` is the fallback route, as before.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from impacting.errors import ActionableError
from impacting.settings import Secret, var

SLACK, TEAMS, WEBHOOK, EMAIL = "slack", "teams", "webhook", "email"
CHANNEL_KINDS = (SLACK, TEAMS, WEBHOOK, EMAIL)
TEAM, PERSON, REVIEW = "team", "person", "review"   # as `alerts.recipient_kind`
TRIAGE_LEAD, FALLBACK = "triage_lead", "fallback"

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_TOP = ("site_url", "backlog_days", "triage_lead", "teams", "people", "fallback", "smtp")
_SMTP = ("host", "port", "starttls", "ssl", "from", "username", "password", "ca_file")


class RoutingError(ActionableError):
    """The routing file cannot be used; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class Value:
    """Text from the routing file, possibly naming environment variables as `${NAME}`; or a
    secret from the settings (the fallback webhook without a routing file)."""

    text: str
    where: str = ""
    secret: Secret | None = field(default=None, repr=False)
    secret_name: str = ""

    @property
    def references(self) -> list[str]:
        return _REFERENCE.findall(self.text)

    def resolve(self, env: Mapping[str, str] | None = None) -> str:
        """The value to use now; raises RoutingError naming the variable (never its value)."""
        if self.secret is not None:
            return self.secret.reveal()
        env = os.environ if env is None else env
        missing = [name for name in self.references if not env.get(name)]
        if missing:
            raise RoutingError(f"{self.where}: environment variable {', '.join(missing)} is not set; "
                               "set it where the pipeline runs")
        return _REFERENCE.sub(lambda m: env[m.group(1)], self.text)

    @property
    def label(self) -> str:
        """What may be shown or stored: variables by name, a literal web address by its host."""
        if self.secret is not None:
            return f"${{{self.secret_name}}}"
        if self.references or "://" not in self.text:
            return self.text
        parts = urlsplit(self.text)
        return f"{parts.scheme}://{parts.hostname or ''}/…"


@dataclass(frozen=True)
class Channel:
    kind: str                    # slack, teams, webhook or email
    target: Value                # a webhook address, or email addresses (comma-separated)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.target.label}"


@dataclass(frozen=True)
class Route:
    """Where one recipient (a team, a person, the triage lead, or anyone: the fallback) is reached."""

    owner: str                   # "team sig-storage", "person jdoe", "triage_lead", "fallback"
    channels: tuple[Channel, ...]
    where: str = ""


@dataclass(frozen=True)
class Smtp:
    host: Value
    port: int
    starttls: bool
    ssl: bool
    sender: Value
    username: Value | None = None
    password: Value | None = None
    ca_file: Path | None = None
    where: str = ""


@dataclass(frozen=True)
class Routing:
    """Every route, and what messages need besides (links, the backlog cut-off, SMTP)."""

    source: str
    site_url: str | None = None
    backlog_days: float | None = None
    triage_lead: Route | None = None
    teams: dict[str, Route] = field(default_factory=dict)
    people: dict[str, Route] = field(default_factory=dict)
    fallback: Route | None = None
    smtp: Smtp | None = None
    warnings: tuple[str, ...] = ()

    def route_for(self, kind: str, recipient: str, recipient_id: str | None = None) -> Route | None:
        """The recipient's own route, else the fallback, else None (no route: kept for later)."""
        own = None
        if kind == TEAM:
            own = self.teams.get(recipient)
        elif kind == PERSON:
            own = (self.people.get(recipient_id) if recipient_id else None) or self.people.get(recipient)
        elif kind == REVIEW:
            own = self.triage_lead
        return own or self.fallback

    def link(self, key: str, jira_url: str | None = None) -> str | None:
        """Where a message points for a request: its brief on the site, else its Jira issue."""
        if self.site_url:
            from impacting.people.paths import brief_page

            return f"{self.site_url}/{brief_page(key)}"
        return jira_url or None

    def unknown_recipients(self, teams: Iterable[str], people: Iterable[str]) -> list[str]:
        """Teams and people routed here that the warehouse has never seen (probably a typo)."""
        known_teams, known_people = set(teams), set(people)
        out = [f"{route.where}: team {name!r} is not a team the warehouse knows"
               for name, route in self.teams.items() if name not in known_teams]
        out += [f"{route.where}: person {name!r} is not an assignee the warehouse knows (use a Jira "
                "account id, user name or display name)"
                for name, route in self.people.items() if name not in known_people]
        return out

    def references(self) -> list[str]:
        """Every environment variable the file names, for checking they are set."""
        values = [c.target for route in self._routes() for c in route.channels]
        if self.smtp:
            values += [v for v in (self.smtp.host, self.smtp.sender, self.smtp.username,
                                   self.smtp.password) if v is not None]
        return sorted({name for value in values for name in value.references})

    def unset_variables(self, env: Mapping[str, str] | None = None) -> list[str]:
        """The variables the file names that are not set here (their messages would fail)."""
        env = os.environ if env is None else env
        return [name for name in self.references() if not env.get(name)]

    def _routes(self) -> list[Route]:
        return [r for r in (self.triage_lead, self.fallback, *self.teams.values(),
                            *self.people.values()) if r is not None]


def fallback_routing(webhook_url: Secret | None) -> Routing:
    """Without a routing file: everything to the settings' webhook, or nowhere (kept for later)."""
    name = var("triage.alert_webhook_url")
    if not webhook_url:
        return Routing(source=f"no routing file, no {name}")
    channel = Channel(WEBHOOK, Value("", name, secret=webhook_url, secret_name=name))
    return Routing(source=name, fallback=Route(FALLBACK, (channel,), name))


def load_routing(path: Path) -> Routing:
    """The routing file at `path`, checked; RoutingError names the file, line and fix."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RoutingError(f"routing file {path} does not exist: create it (see the README's Alerts "
                           f"section) or unset {var('people.routing_file')}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RoutingError(f"routing file {path} cannot be read ({type(error).__name__}); save it "
                           "as UTF-8 text") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise RoutingError(f"{name}{line}: not valid YAML ({error.problem or error.context}); fix "
                           "the indentation or quoting there") from None
    return _Reader(name, path.parent).routing(root)


class _Reader:
    """Turns composed YAML nodes into a Routing, every error naming file and line."""

    def __init__(self, name: str, folder: Path):
        self.name, self.folder = name, folder
        self.warnings: list[str] = []

    def at(self, node: yaml.Node) -> str:
        return f"{self.name}:{node.start_mark.line + 1}"

    def fail(self, node: yaml.Node, message: str):
        raise RoutingError(f"{self.at(node)}: {message}")

    def mapping(self, node: yaml.Node | None, what: str, allowed: Iterable[str] | None = None
                ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if node is None:
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping (name: value lines)")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        allowed = tuple(allowed) if allowed is not None else None
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or not str(key.value).strip():
                self.fail(key, f"a key of {what} is not a name")
            name = str(key.value).strip()
            if allowed is not None and name not in allowed:
                self.fail(key, f"unknown key {name!r} in {what}; expected one of {', '.join(allowed)}")
            if name in out:
                self.fail(key, f"{name!r} appears twice in {what}; keep one")
            out[name] = (key, value)
        return out

    def text(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null" \
                or not str(node.value).strip():
            self.fail(node, f"{what} must be a single value")
        value = str(node.value).strip()
        if "${" in value and not _REFERENCE.search(value):
            self.fail(node, f"{what} has a malformed ${{...}}; write ${{NAME}} with a variable name")
        return value

    def value(self, node: yaml.Node, what: str) -> Value:
        return Value(self.text(node, what), self.at(node))

    def number(self, node: yaml.Node, what: str, integer: bool = False) -> float:
        raw = self.text(node, what)
        try:
            number = int(raw) if integer else float(raw)
        except ValueError:
            self.fail(node, f"{what} must be a {'whole ' if integer else ''}number, not {raw!r}")
        if number < 0:
            self.fail(node, f"{what} must not be negative")
        return number

    def flag(self, node: yaml.Node, what: str) -> bool:
        raw = self.text(node, what).lower()
        if raw not in {"true", "false", "yes", "no", "on", "off"}:
            self.fail(node, f"{what} must be true or false, not {raw!r}")
        return raw in {"true", "yes", "on"}

    def routing(self, root: yaml.Node | None) -> Routing:
        if root is None:
            raise RoutingError(f"{self.name}: the file is empty; route at least a fallback or one team")
        top = self.mapping(root, "the routing file", _TOP)
        smtp = self.smtp(*top["smtp"]) if "smtp" in top else None
        site_url = None
        if "site_url" in top:
            site_url = self.text(top["site_url"][1], "site_url").rstrip("/")
            if urlsplit(site_url).scheme not in {"http", "https"} or not urlsplit(site_url).netloc:
                self.fail(top["site_url"][1], f"site_url {site_url!r} is not a web address; use e.g. "
                          "https://triage.example.com")
        backlog = self.number(top["backlog_days"][1], "backlog_days") if "backlog_days" in top else None
        routing = Routing(
            source=self.name, site_url=site_url, backlog_days=backlog,
            triage_lead=self.route(TRIAGE_LEAD, *top["triage_lead"], smtp) if "triage_lead" in top else None,
            teams=self.routes("teams", TEAM, top.get("teams"), smtp),
            people=self.routes("people", PERSON, top.get("people"), smtp),
            fallback=self.route(FALLBACK, *top["fallback"], smtp) if "fallback" in top else None,
            smtp=smtp)
        if not (routing.teams or routing.people or routing.triage_lead or routing.fallback):
            self.fail(root, "no route at all: add teams, people, triage_lead or a fallback")
        ordered = sorted(self.warnings, key=lambda w: int(w.split(":")[1]))  # in file order
        return Routing(**{**routing.__dict__, "warnings": tuple(ordered)})

    def routes(self, section: str, kind: str, entry: tuple[yaml.Node, yaml.Node] | None,
               smtp: Smtp | None) -> dict[str, Route]:
        if entry is None:
            return {}
        return {name: self.route(f"{kind} {name}", key, value, smtp)
                for name, (key, value) in self.mapping(entry[1], section).items()}

    def route(self, owner: str, key: yaml.Node, node: yaml.Node, smtp: Smtp | None) -> Route:
        what = owner.replace("_", " ")
        channels = []
        for kind, (kind_node, target) in self.mapping(node, f"the route of {what}", CHANNEL_KINDS).items():
            if kind == EMAIL:
                channels.append(Channel(EMAIL, self.addresses(target, what)))
                if smtp is None:
                    self.fail(kind_node, f"{what} is reached by email but the file has no smtp: block "
                              "(host, port, from, ...)")
            else:
                value = self.value(target, f"the {kind} address of {what}")
                if not value.references:
                    parts = urlsplit(value.text)
                    if parts.scheme not in {"http", "https"} or not parts.netloc:
                        self.fail(target, f"the {kind} address of {what} is not a web address; use "
                                  "https://... or ${NAME} naming an environment variable that holds it")
                    self.warnings.append(f"{self.at(target)}: the {kind} address of {what} is written "
                                         "in the file; webhook addresses are secrets, use ${NAME}")
                channels.append(Channel(kind, value))
        if not channels:
            self.fail(node, f"{what} has no channel; give one of {', '.join(CHANNEL_KINDS)}")
        return Route(owner, tuple(channels), self.at(key))

    def addresses(self, node: yaml.Node, what: str) -> Value:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        texts = [self.text(item, f"the email address of {what}") for item in items]
        parts = [a.strip() for text in texts for a in text.split(",") if a.strip()]
        for address in parts:
            if not _REFERENCE.search(address) and not _EMAIL.match(address):
                self.fail(node, f"{address!r} is not an email address")
        return Value(", ".join(parts), self.at(node))

    def smtp(self, key: yaml.Node, node: yaml.Node) -> Smtp:
        fields = self.mapping(node, "smtp", _SMTP)
        for needed in ("host", "from"):
            if needed not in fields:
                self.fail(node, f"smtp needs {needed}:")
        ssl = self.flag(fields["ssl"][1], "smtp ssl") if "ssl" in fields else False
        starttls = self.flag(fields["starttls"][1], "smtp starttls") if "starttls" in fields else not ssl
        port = int(self.number(fields["port"][1], "smtp port", integer=True)) if "port" in fields \
            else (465 if ssl else 587)
        credentials = {name: self.value(fields[name][1], f"smtp {name}") if name in fields else None
                       for name in ("username", "password")}
        if (credentials["username"] is None) != (credentials["password"] is None):
            self.fail(node, "smtp needs both username and password, or neither")
        password = credentials["password"]
        if password is not None and not password.references:
            self.warnings.append(f"{password.where}: the smtp password is written in the file; use "
                                 "${NAME} naming an environment variable")
        ca_file = None
        if "ca_file" in fields:
            ca_file = Path(self.text(fields["ca_file"][1], "smtp ca_file")).expanduser()
            ca_file = ca_file if ca_file.is_absolute() else self.folder / ca_file
            if not ca_file.is_file():
                self.fail(fields["ca_file"][1], f"smtp ca_file {ca_file} does not exist")
        return Smtp(self.value(fields["host"][1], "smtp host"), port, starttls, ssl,
                    self.value(fields["from"][1], "smtp from"), credentials["username"], password,
                    ca_file, self.at(key))

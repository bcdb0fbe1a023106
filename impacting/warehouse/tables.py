"""Every warehouse table, declared once: name, schema, columns and what they mean.

The DDL, the analyst documentation (`docs/tables.md`), the DuckDB column comments and the
column schema shown in the Dagster UI are all generated from these declarations, so they
cannot drift apart. Schemas:

- ``main``: what analysts query (published);
- ``raw``: payloads exactly as they arrived, so anything can be re-derived (published);
- ``internal``: working state such as sync cursors and caches (never published).

It is long because it is nothing but declarations, every column with its meaning; splitting it
would only scatter the one list analysts and the code both read.
"""

from __future__ import annotations

from dataclasses import dataclass

from impacting.settings import var


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    # Says when a run happened rather than what the data is (a run's time, id or model
    # version): two runs on the same input differ only in these.
    volatile: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    schema: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    # Key columns where null is a value of its own (e.g. "all projects"), not a missing key.
    nullable_key: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def published(self) -> bool:
        return self.schema != "internal"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def stable_columns(self) -> tuple[Column, ...]:
        """The columns that depend on the data only (not on when or by which run)."""
        return tuple(column for column in self.columns if not column.volatile)

    def ddl(self) -> str:
        columns = ",\n    ".join(f'"{c.name}" {c.type}' for c in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.qualified} (\n    {columns}\n)"


def _cols(*rows: tuple) -> tuple[Column, ...]:
    return tuple(Column(*row) for row in rows)


RUN_TIME = True  # marks a column as volatile in the declarations below


LINK = "STRUCT(key VARCHAR, type VARCHAR, direction VARCHAR, relation VARCHAR)"

# --- ingest ------------------------------------------------------------------------------------

RAW_ISSUES = Table(
    "jira_issues",
    "raw",
    "Every Jira issue payload exactly as the source returned it (REST API JSON), latest version "
    "per issue, with the complete changelog merged in. Everything in `projects` and "
    "`status_changes` is derived from here.",
    _cols(
        ("key", "VARCHAR", "Jira issue key, e.g. `KEP-3157`."),
        ("issue_id", "VARCHAR", "Jira's numeric issue id (stable across key changes)."),
        ("updated_at", "TIMESTAMPTZ", "The issue's `updated` field, UTC."),
        ("payload", "JSON", "The issue JSON as received (`fields`, `changelog`, ...)."),
        ("source", "VARCHAR", "`export` (a folder of JSON) or `jira` (a live Jira)."),
        ("fetched_at", "TIMESTAMPTZ", "When this version was stored, UTC.", RUN_TIME),
    ),
    key=("key",),
)

RAW_ATTACHMENTS = Table(
    "jira_attachments",
    "raw",
    "Every attachment the issues list, and for design documents whether their content was "
    "fetched. Content is stored once per SHA-256 in the working folder, never in DuckDB.",
    _cols(
        ("attachment_id", "VARCHAR", "Jira's attachment id."),
        ("issue_key", "VARCHAR", "The issue the attachment belongs to."),
        ("file_name", "VARCHAR", "File name as Jira reports it (never used as a path)."),
        ("mime_type", "VARCHAR", "MIME type as Jira reports it."),
        ("size_bytes", "BIGINT", "Size as Jira reports it."),
        ("created_at", "TIMESTAMPTZ", "When it was attached, UTC."),
        ("is_document", "BOOLEAN", "Chosen as a design document (by extension, MIME type, size)."),
        ("sha256", "VARCHAR", "SHA-256 of the content, when fetched."),
        ("fetch_status", "VARCHAR", "`stored`, `not_a_document`, `too_large`, `missing` or `failed`."),
        ("fetch_reason", "VARCHAR", "Why it was not stored, and what to do about it."),
        ("fetched_at", "TIMESTAMPTZ", "When the content was stored, UTC.", RUN_TIME),
    ),
    key=("attachment_id",),
)

PROJECTS = Table(
    "projects",
    "main",
    "One row per project request (Jira issue), current state.",
    _cols(
        ("key", "VARCHAR", "Jira issue key, e.g. `KEP-3157`."),
        ("issue_id", "VARCHAR", "Jira's numeric issue id."),
        ("project", "VARCHAR", "Jira project key."),
        ("issue_type", "VARCHAR", "Issue type name (Epic, Story, ...)."),
        ("summary", "VARCHAR", "The issue's title."),
        ("description", "VARCHAR", "The description as plain text (wiki markup / ADF converted)."),
        ("status", "VARCHAR", "Current status name."),
        ("status_category", "VARCHAR", "Jira's status category key: `new` (To Do), "
         "`indeterminate` (In Progress) or `done` (Done)."),
        ("resolution", "VARCHAR", "Resolution name, null while unresolved."),
        ("priority", "VARCHAR", "Priority name."),
        ("created_at", "TIMESTAMPTZ", "Created, UTC."),
        ("updated_at", "TIMESTAMPTZ", "Last updated, UTC."),
        ("resolved_at", "TIMESTAMPTZ", "Resolution date, UTC; null while unresolved."),
        ("teams", "VARCHAR[]", "Teams known so far to be involved: the configured team field "
         f"(`{var('source.team_field')}`, default components). Empty for a new request."),
        ("components", "VARCHAR[]", "Jira components."),
        ("labels", "VARCHAR[]", "Jira labels."),
        ("assignee", "VARCHAR", "Assignee display name."),
        ("assignee_id", "VARCHAR", "Assignee account id (Cloud) or user name (Data Center)."),
        ("reporter", "VARCHAR", "Reporter display name."),
        ("reporter_id", "VARCHAR", "Reporter account id or user name."),
        ("parent_key", "VARCHAR", "Parent issue or epic key, if any."),
        ("links", f"{LINK}[]", "Issue links: linked key, link type, `inward`/`outward`, and the "
         "relation as Jira words it from this issue's side (e.g. `blocks`)."),
        ("url", "VARCHAR", "Where to open the issue in Jira."),
        ("source", "VARCHAR", "`export` or `jira`."),
        ("document_count", "INTEGER", "Design documents attached (rows in `documents`)."),
        ("teams_set_at", "TIMESTAMPTZ", "When the team field was first filled in, UTC, from the "
         "changelog (`created_at` when it was filled in at creation); null while it is empty."),
    ),
    key=("key",),
)

DOCUMENTS = Table(
    "documents",
    "main",
    "One row per design document attached to a request, with its text. Documents that could "
    "not be read are kept with `extraction_status` and the reason, so nothing vanishes silently.",
    _cols(
        ("document_id", "VARCHAR", "Jira attachment id of the document."),
        ("project_key", "VARCHAR", "The request it belongs to (`projects.key`)."),
        ("file_name", "VARCHAR", "File name as attached."),
        ("mime_type", "VARCHAR", "MIME type as Jira reports it."),
        ("format", "VARCHAR", "Detected format: markdown, text, html, docx, pdf, or the "
         "unsupported kind."),
        ("size_bytes", "BIGINT", "Content size."),
        ("sha256", "VARCHAR", "SHA-256 of the content."),
        ("word_count", "INTEGER", "Words in `text`."),
        ("headings", "VARCHAR[]", "The document's headings, in order."),
        ("text", "VARCHAR", "Clean text, Markdown-style: headings as `#` lines."),
        ("extraction_status", "VARCHAR", "`ok`, `skipped` (unsupported, empty, encrypted, too "
         "large, missing) or `failed` (corrupt)."),
        ("extraction_reason", "VARCHAR", "For skipped/failed: what is wrong and how to fix it."),
        ("attached_at", "TIMESTAMPTZ", "When it was attached, UTC."),
        ("extractor_version", "VARCHAR", "Version of the text extraction that produced `text`."),
    ),
    key=("document_id",),
)

STATUS_CHANGES = Table(
    "status_changes",
    "main",
    "Every status transition from the issues' changelogs, oldest first.",
    _cols(
        ("project_key", "VARCHAR", "The issue (`projects.key`)."),
        ("changed_at", "TIMESTAMPTZ", "When the status changed, UTC."),
        ("from_status", "VARCHAR", "Status before."),
        ("to_status", "VARCHAR", "Status after."),
        ("author", "VARCHAR", "Who changed it (display name)."),
        ("history_id", "VARCHAR", "Jira changelog history id."),
    ),
)

SYNC_CURSORS = Table(
    "sync_cursors",
    "internal",
    "How far each live source's incremental sync has got, per scope (Jira URL, JQL and fields). "
    "A run lists the issues updated since `cursor_at` minus a small overlap and fetches only "
    "those whose `updated` differs from what is stored.",
    _cols(
        ("scope", "VARCHAR", "What the cursor belongs to: the Jira URL, the JQL (without ORDER BY) "
         f"and the fields requested. A changed {var('source.jira_jql')} or field list is a new scope, "
         "read in full."),
        ("cursor_at", "TIMESTAMPTZ", "Every issue in scope updated before this instant (UTC) is "
         "stored as it is now; never moved past an issue that was not stored.", RUN_TIME),
        ("full_started_at", "TIMESTAMPTZ", "Set while a full read (the first run of a scope, or "
         "`impacting run --full`) is unfinished; the next run resumes it.", RUN_TIME),
        ("last_full_at", "TIMESTAMPTZ", "When a listing of the whole scope last completed; issues "
         "it no longer matched were removed then.", RUN_TIME),
        ("issues_in_scope", "BIGINT", "Issues that listing matched."),
        ("last_run_at", "TIMESTAMPTZ", "When a sync last wrote this row, UTC.", RUN_TIME),
    ),
    key=("scope",),
)

WAREHOUSE_INFO = Table(
    "warehouse_info",
    "main",
    "One row describing this published file: when and by which run it was published.",
    _cols(
        ("published_at", "TIMESTAMPTZ", "When this file was published, UTC.", RUN_TIME),
        ("run_id", "VARCHAR", "The Dagster run that published it.", RUN_TIME),
        ("source", "VARCHAR", "Where the requests came from (`export` folder or `jira` URL)."),
        ("tables", "MAP(VARCHAR, BIGINT)", "Row count of every published table.", RUN_TIME),
    ),
)

REJECTS = Table(
    "rejects",
    "main",
    "Everything a run left out, and why, from every stage: attachments that could not be "
    "downloaded, documents that could not be read (or were truncated), issue payloads that could "
    "not be parsed, documents no summary could be made of, statuses with no category, feedback "
    "lines that could not be used. The good items flow on; these wait for a person.",
    _cols(
        ("stage", "VARCHAR", "The step that left it out (its asset, e.g. `documents`)."),
        ("item", "VARCHAR", "What was left out: an issue key, a document, a file and line."),
        ("reason", "VARCHAR", "Why, and what to do about it (the latest wording)."),
        ("first_seen", "TIMESTAMPTZ", "The run that first reported it, UTC.", RUN_TIME),
        ("last_seen", "TIMESTAMPTZ", "The latest run that reported it, UTC.", RUN_TIME),
        ("count", "INTEGER", "How many runs reported it.", RUN_TIME),
        ("active", "BOOLEAN", "Still reported by the latest run of its stage; false once fixed."),
    ),
    key=("stage", "item"),
)

RUN_FAILURES = Table(
    "run_failures",
    "main",
    "Every pipeline run that failed: when, at which steps and why (recorded by the run-failure "
    "sensor while the Dagster daemon runs). The published file is left as it was by a failed "
    "run; this table arrives with the next good one.",
    _cols(
        ("run_id", "VARCHAR", "The Dagster run.", RUN_TIME),
        ("job", "VARCHAR", "Its job (`nightly`).", RUN_TIME),
        ("failed_at", "TIMESTAMPTZ", "When it failed, UTC.", RUN_TIME),
        ("steps", "VARCHAR[]", "The steps that failed.", RUN_TIME),
        ("message", "VARCHAR", "What Dagster said went wrong (the first failure's message).", RUN_TIME),
    ),
    key=("run_id",),
)

# --- language ----------------------------------------------------------------------------------

CHUNKS = Table(
    "chunks",
    "main",
    "Every document split into ordered chunks: prose sentences with their section, and the "
    "headings, code blocks, template comments, tables of contents and tables kept as their own "
    "kinds. Summaries point into it; only prose chunks are embedded.",
    _cols(
        ("document_id", "VARCHAR", "The document (`documents.document_id`)."),
        ("project_key", "VARCHAR", "The request it belongs to (`projects.key`)."),
        ("chunk_index", "INTEGER", "Position in the document, from 0."),
        ("kind", "VARCHAR", "`sentence`, `heading`, `code`, `comment` (template comments), `toc` "
         "(table of contents) or `table`."),
        ("section", "VARCHAR[]", "The heading path above the chunk, outermost first."),
        ("text", "VARCHAR", "The chunk's text: for sentences and headings, Markdown links and "
         "emphasis reduced to their words."),
        ("words", "INTEGER", "Words in `text`."),
        ("sha256", "VARCHAR", "SHA-256 of `text`: with the model, the embedding cache key."),
        ("embedded", "BOOLEAN", "A prose sentence with a vector in the embedding cache (what "
         "summaries, keywords, team relevance and similar-project search read)."),
    ),
    key=("document_id", "chunk_index"),
)

SUMMARIES = Table(
    "summaries",
    "main",
    f"Two summaries per readable document: `executive` (about {var('language.executive_words')} words) "
    f"and `standard` ({var('language.summary_ratio')} of the document, or {var('language.summary_words')} "
    "words). Extractive by default: whole sentences, covering the main sections, in document "
    "order.",
    _cols(
        ("document_id", "VARCHAR", "The document (`documents.document_id`)."),
        ("project_key", "VARCHAR", "The request it belongs to (`projects.key`)."),
        ("kind", "VARCHAR", "`executive` or `standard`."),
        ("text", "VARCHAR", "The summary."),
        ("words", "INTEGER", "Words in `text`."),
        ("document_words", "INTEGER", "Prose words in the document (what a ratio applies to)."),
        ("degree", "VARCHAR", "The length asked for, e.g. `60 words` or `ratio 0.1`."),
        ("method", "VARCHAR", "`extractive` (sentences of the document) or `abstractive` "
         f"(rewritten by {var('language.abstractive_model')} from an extract)."),
        ("chunk_indexes", "INTEGER[]", "The document sentences it was made from "
         "(`chunks.chunk_index`), in document order."),
    ),
    key=("document_id", "kind"),
)

KEYWORDS = Table(
    "keywords",
    "main",
    "The key phrases of each readable document, best first: close in meaning to the whole "
    "document, diverse, and specific to it rather than common to most documents.",
    _cols(
        ("document_id", "VARCHAR", "The document (`documents.document_id`)."),
        ("project_key", "VARCHAR", "The request it belongs to (`projects.key`)."),
        ("rank", "INTEGER", "1 = the best keyword of the document."),
        ("phrase", "VARCHAR", "The phrase, lower case (one or two words)."),
        ("score", "DOUBLE", "What the rank follows: `relevance` × (1 − `corpus_share`)."),
        ("relevance", "DOUBLE", "Cosine similarity of the phrase to the whole document (-1..1)."),
        ("corpus_share", "DOUBLE", "Share of all documents that contain the phrase (0..1)."),
        ("occurrences", "INTEGER", "Times the phrase occurs in the document."),
    ),
    key=("document_id", "rank"),
)

LANGUAGE_TABLES = (CHUNKS, SUMMARIES, KEYWORDS)

# --- triage ------------------------------------------------------------------------------------

TRIAGE_CORPUS = Table(
    "triage_corpus",
    "main",
    "The requests as triage sees them, built once per run and read by the team model, the "
    "similar-project search, team decisions and briefs: past projects (teams known, people's "
    "feedback applied) and requests awaiting triage, with the documents and passages they are "
    "read from. A request can be both: feedback can confirm teams before Jira's field has them.",
    _cols(
        ("key", "VARCHAR", "The request (`projects.key`)."),
        ("title", "VARCHAR", "Its title (`projects.summary`)."),
        ("is_past", "BOOLEAN", "A past project: its teams are known (the team field, plus "
         "confirmed and minus rejected feedback). The team model learns from these, and "
         "similar-project search compares requests with them."),
        ("awaiting_triage", "BOOLEAN", "No team field yet and not done: it gets team decisions "
         "and similar past projects."),
        ("teams", "VARCHAR[]", "Its teams, feedback applied (empty while awaiting triage)."),
        ("created_at", "TIMESTAMPTZ", "When it was created, UTC (orders history for "
         "cross-validation)."),
        ("links", "VARCHAR[]", "Keys of the issues Jira links it with."),
        ("document_ids", "VARCHAR[]", "Its readable documents (`documents.document_id`) in attach "
         "order; their passages come from `chunks`, after its description's."),
        ("passages", "INTEGER", "Prose sentences it is compared and scored by (description and "
         "documents)."),
        ("words", "INTEGER", "Words of its title, description and documents that triage reads."),
        ("text_sha256", "VARCHAR", "SHA-256 of its title and chunks in order: changes exactly when "
         "what triage reads of it changes (the model registry's fingerprint is built from these)."),
    ),
    key=("key",),
)

DESCRIPTION_CHUNKS = Table(
    "description_chunks",
    "internal",
    "Each request's Jira description split into chunks like a document (`chunks`), once per "
    "run: the passages triage reads before the request's documents.",
    _cols(
        ("request_key", "VARCHAR", "The request (`projects.key`)."),
        ("chunk_index", "INTEGER", "Position in the description, from 0."),
        ("kind", "VARCHAR", "As `chunks.kind`."),
        ("section", "VARCHAR[]", "Heading path above it."),
        ("text", "VARCHAR", "The chunk's text."),
        ("sha256", "VARCHAR", "SHA-256 of `text`."),
    ),
    key=("request_key", "chunk_index"),
)

TEMPLATE_PASSAGES = Table(
    "template_passages",
    "internal",
    "Sentences so many past projects share word for word that they are template text; the team "
    "model and the similar-project search leave them out, and reasons never quote them.",
    _cols(
        ("sha256", "VARCHAR", "SHA-256 of the sentence."),
    ),
    key=("sha256",),
)

TEAM_PREDICTIONS = Table(
    "team_predictions",
    "main",
    "For every request awaiting triage (no teams yet) and every team the model knows: how likely "
    "the team is impacted, and the decision: `notify`, `unsure` (a person decides) or "
    "`not_notified`, with the reason. A person's feedback (`team_feedback`) overrides the model.",
    _cols(
        ("request_key", "VARCHAR", "The request (`projects.key`)."),
        ("team", "VARCHAR", "The team."),
        ("rank", "INTEGER", "1 = the team most likely impacted by this request."),
        ("probability", "DOUBLE", "Calibrated probability that the team is impacted (0..1); null "
         "for a team only a person named (feedback) that the model does not know yet."),
        ("decision", "VARCHAR", "`notify` (at or above `threshold`), `unsure` (at or above "
         "`unsure_threshold`: a person decides) or `not_notified`."),
        ("threshold", "DOUBLE", "The team's notify threshold, chosen by cross-validation so that "
         f"{var('triage.target_recall')} of its past requests would have been notified."),
        ("unsure_threshold", "DOUBLE", "The lower end of the team's unsure band "
         f"({var('triage.unsure_recall')})."),
        ("reason", "VARCHAR", "Why: the probability against the threshold, the passages of the "
         "request that most support the team, and the similar past projects that involved it."),
        ("decided_by", "VARCHAR", "`model`, or `feedback` when a person confirmed or rejected the "
         "team for this request."),
        ("model_version", "VARCHAR", "The team model that scored it (`models.version`).", RUN_TIME),
        ("predicted_at", "TIMESTAMPTZ", "When this run scored it, UTC.", RUN_TIME),
    ),
    key=("request_key", "team"),
)

SIMILAR_PROJECTS = Table(
    "similar_projects",
    "main",
    "For every request awaiting triage, the past projects it most resembles (words and meaning "
    f"fused), best first: at most {var('triage.similar_top_k')}, and only those scoring at least "
    f"{var('triage.similar_min_score')}, so an unusual request gets few or none. With each match its "
    "teams, people and outcome.",
    _cols(
        ("request_key", "VARCHAR", "The request awaiting triage (`projects.key`)."),
        ("rank", "INTEGER", "1 = the most similar past project."),
        ("similar_key", "VARCHAR", "The past project (`projects.key`)."),
        ("score", "DOUBLE", f"Fused similarity (0..1): {var('triage.similar_lexical_weight')} × "
         "`lexical_score` + the rest × `semantic_score`."),
        ("lexical_score", "DOUBLE", "TF-IDF cosine of the two documents' words (0..1)."),
        ("semantic_score", "DOUBLE", "Cosine of the two documents' meaning vectors, centred on "
         "the past projects' mean (0..1)."),
        ("closest_passages", "VARCHAR", "The sentence of the request and the sentence of the past "
         "project closest in meaning, and their cosine: why they look alike, at a glance."),
        ("probability", "DOUBLE", "Calibrated probability that the two are related (a link "
         "between them), from the ranking learned on past links; matches are ordered by it and "
         "cut off below it. Null when the fixed fusion ranked them "
         f"({var('triage.similar_ranking')})."),
        ("summary", "VARCHAR", "The past project's title."),
        ("teams", "VARCHAR[]", "The teams that delivered it."),
        ("assignee", "VARCHAR", "Its assignee, where known."),
        ("reporter", "VARCHAR", "Its reporter, where known."),
        ("status", "VARCHAR", "Its current status."),
        ("resolution", "VARCHAR", "Its resolution, null while unresolved."),
        ("created_at", "TIMESTAMPTZ", "When it was created, UTC."),
        ("resolved_at", "TIMESTAMPTZ", "When it was resolved, UTC."),
        ("url", "VARCHAR", "Where to open it."),
    ),
    key=("request_key", "similar_key"),
)

ALERTS = Table(
    "alerts",
    "main",
    "Every alert ever raised: a recipient told about a request awaiting triage. Teams the model "
    "(or feedback) notifies, the people who did the most of its similar past projects' work, "
    "and teams the model is unsure about (for the triage lead to decide). Never twice for the "
    "same request and recipient; rows are kept across runs. Sending them is the people stage "
    "(`alert_deliveries`, `messages`).",
    _cols(
        ("request_key", "VARCHAR", "The request (`projects.key`)."),
        ("recipient", "VARCHAR", "The team, the person's display name, or (`review`) the team "
         "the model is unsure about."),
        ("recipient_kind", "VARCHAR", "`team` (notified), `person` (delivered similar work) or "
         "`review` (an unsure team, for the triage lead to decide)."),
        ("recipient_id", "VARCHAR", "The person's Jira account id or user name, where known."),
        ("score", "DOUBLE", "Team and review: the team's probability; person: over the similar "
         "past projects, similarity times their share of the project's work."),
        ("reason", "VARCHAR", "Why this recipient is told."),
        ("first_alerted_at", "TIMESTAMPTZ", "When the alert was raised, UTC.", RUN_TIME),
        ("model_version", "VARCHAR", "The team model in service then (`models.version`).", RUN_TIME),
    ),
    key=("request_key", "recipient_kind", "recipient"),
)

TEAM_FEEDBACK = Table(
    "team_feedback",
    "main",
    "People's decisions on whether a team is impacted by a request: lines of the CSV files in "
    f"{var('triage.feedback_dir')}, and the team field once Jira has it for a request the model "
    "triaged. Feedback is training data and overrides the model's decisions.",
    _cols(
        ("request_key", "VARCHAR", "The request (`projects.key`)."),
        ("team", "VARCHAR", "The team."),
        ("verdict", "VARCHAR", "`confirmed` (impacted) or `rejected` (not impacted)."),
        ("source", "VARCHAR", "`csv` (the drop folder) or `jira` (the team field)."),
        ("origin", "VARCHAR", "The file and line, or the Jira field."),
        ("author", "VARCHAR", "Who decided, where known."),
        ("recorded_at", "TIMESTAMPTZ", "When it was decided (the CSV `at` column, else the file's "
         "time; for Jira, when the team field was first seen filled in), UTC.", RUN_TIME),
        ("note", "VARCHAR", "The CSV `note`, if any."),
    ),
    key=("request_key", "team", "source"),
)

MODELS = Table(
    "models",
    "main",
    "Every team model trained, with its cross-validated figures and whether it serves: "
    "`accepted` (in service), `superseded` or `rejected` (its cross-validated recall was worse "
    f"than the accepted model's by more than {var('triage.recall_tolerance')}). A model is "
    "trained only when the training data or the settings changed. The learned ranking of "
    "similar projects (`similar_ranker`) and a fine-tuned encoder (`encoder`, rejected unless "
    "better than the bundled model on a held-out later period) are versioned here too; their "
    "`cv_*` columns are null and `metrics` holds their figures.",
    _cols(
        ("model_name", "VARCHAR", "`team_model`, `similar_ranker` or `encoder`."),
        ("version", "VARCHAR", "Training time and training-data fingerprint.", RUN_TIME),
        ("trained_at", "TIMESTAMPTZ", "When it was trained, UTC.", RUN_TIME),
        ("fingerprint", "VARCHAR", "SHA-256 of the training data (requests, teams, words) and "
         "settings."),
        ("training_requests", "INTEGER", "Past requests it learned from."),
        ("teams", "VARCHAR[]", "The teams it knows."),
        ("candidate", "VARCHAR", "The candidate cross-validation kept: `embedding_linear`, "
         "`tfidf_linear`, `similarity_vote` or `combination` (team model); `fixed_fusion`, "
         "`logistic_c*` or `boosting` (similar ranker); `fine_tuned` (encoder)."),
        ("cv_notify_recall", "DOUBLE", "Cross-validated share of true teams notified."),
        ("cv_reading_saved", "DOUBLE", "Cross-validated share of teams spared from reading."),
        ("cv_recall_at_3", "DOUBLE", "Cross-validated share of true teams among the top 3."),
        ("cv_micro_f1", "DOUBLE", "Cross-validated micro-F1 at the best single threshold."),
        ("metrics", "JSON", "All cross-validated figures, every candidate included."),
        ("status", "VARCHAR", "`accepted`, `superseded` or `rejected`."),
        ("status_reason", "VARCHAR", "Why."),
        ("artefact", "VARCHAR", "The model file (in the working folder, not published).", RUN_TIME),
    ),
    key=("model_name", "version"),
)

TRIAGE_TABLES = (TRIAGE_CORPUS, DESCRIPTION_CHUNKS, TEMPLATE_PASSAGES, TEAM_PREDICTIONS,
                 SIMILAR_PROJECTS, ALERTS, TEAM_FEEDBACK, MODELS)

# --- people ------------------------------------------------------------------------------------

ALERT_DELIVERIES = Table(
    "alert_deliveries",
    "main",
    "Where each alert stands on each channel that reaches its recipient: one row per alert "
    "and channel (one row with channel `-` while it has no route), kept across runs. An alert "
    "already `sent` on a channel is never sent again.",
    _cols(
        ("request_key", "VARCHAR", "The request (`alerts.request_key`)."),
        ("recipient_kind", "VARCHAR", "As `alerts.recipient_kind`."),
        ("recipient", "VARCHAR", "As `alerts.recipient`."),
        ("channel", "VARCHAR", "`slack`, `teams`, `webhook`, `email`, or `-` (no route)."),
        ("route", "VARCHAR", "Whose route carries it: `team NAME`, `person NAME`, `triage_lead` or "
         "`fallback` (the routing file's entries)."),
        ("destination", "VARCHAR", "Where, safe to show: an email address, or the environment "
         "variable holding a webhook address (never the address itself)."),
        ("state", "VARCHAR", "`pending` (to send this run), `sent`, `failed` (retried next run), "
         f"`gave_up` (failed {var('people.max_attempts')} runs), `suppressed_backlog` (older than "
         "the routing file's `backlog_days` when it could first be sent: recorded, never sent) or "
         "`no_route` (nobody routes it yet; sent once a route exists)."),
        ("attempts", "INTEGER", "Runs that tried to send it.", RUN_TIME),
        ("error", "VARCHAR", "Why the last attempt failed, or why it is not sent."),
        ("message_id", "VARCHAR", "The digest that last carried it (`messages.message_id`).", RUN_TIME),
        ("first_seen_at", "TIMESTAMPTZ", "When the people step first saw the alert, UTC.", RUN_TIME),
        ("last_attempt_at", "TIMESTAMPTZ", "When it was last tried, UTC.", RUN_TIME),
        ("sent_at", "TIMESTAMPTZ", "When the channel accepted it, UTC.", RUN_TIME),
    ),
    key=("request_key", "recipient_kind", "recipient", "channel"),
)

MESSAGES = Table(
    "messages",
    "main",
    "Every digest the people step tried to send: one message per recipient and channel per run, "
    "listing all of its new requests (never one message per alert).",
    _cols(
        ("message_id", "VARCHAR", "The digest's id (also in the message itself).", RUN_TIME),
        ("route", "VARCHAR", "Whose route: `team NAME`, `person NAME`, `triage_lead` or `fallback`."),
        ("channel", "VARCHAR", "`slack`, `teams`, `webhook` or `email`."),
        ("destination", "VARCHAR", "As `alert_deliveries.destination`."),
        ("state", "VARCHAR", "`sent` or `failed` (its alerts are retried in the next run's digest)."),
        ("error", "VARCHAR", "Why it failed."),
        ("requests", "VARCHAR[]", "The requests it listed."),
        ("alerts", "INTEGER", "The alerts it carried."),
        ("attempted_at", "TIMESTAMPTZ", "When it was sent or tried, UTC.", RUN_TIME),
    ),
    key=("message_id",),
)

JIRA_COMMENTS = Table(
    "jira_comments",
    "main",
    "The one comment impacting leaves on each triaged request in Jira (with "
    f"{var('people.jira_comment')}): its decided teams and a link to its brief. Found in Jira "
    "before posting, so never twice.",
    _cols(
        ("request_key", "VARCHAR", "The request (`projects.key`)."),
        ("state", "VARCHAR", "`posted` (this run wrote it), `found` (an earlier comment of ours was "
         "already there) or `failed` (retried next run)."),
        ("comment_id", "VARCHAR", "Jira's comment id."),
        ("teams", "VARCHAR[]", "The teams the comment names."),
        ("link", "VARCHAR", "The link it gives (the brief, else the issue)."),
        ("attempts", "INTEGER", "Runs that tried.", RUN_TIME),
        ("error", "VARCHAR", "Why the last try failed."),
        ("commented_at", "TIMESTAMPTZ", "When it was posted or found, UTC.", RUN_TIME),
    ),
    key=("request_key",),
)


# --- delivery ----------------------------------------------------------------------------------

RAW_STATUSES = Table(
    "jira_statuses",
    "raw",
    "Jira's status list (`GET /rest/api/2/status`) as a live source stored it: each status and "
    "its category. Delivery reporting takes a status's category from configuration first "
    f"(`{var('delivery.status_categories')}`), then from here, then from the issues' own current "
    "statuses. Filled from a live Jira, or from an export folder's `statuses.json`.",
    _cols(
        ("status_id", "VARCHAR", "Jira's status id."),
        ("name", "VARCHAR", "Status name, as changelogs spell it."),
        ("category", "VARCHAR", "Status category key: `new` (To Do), `indeterminate` (In "
         "Progress) or `done` (Done)."),
        ("payload", "JSON", "The status JSON as received."),
        ("source", "VARCHAR", "`jira` (a live Jira) or `export` (an export's `statuses.json`)."),
        ("fetched_at", "TIMESTAMPTZ", "When it was stored, UTC.", RUN_TIME),
    ),
    key=("status_id",),
)

DELIVERY_ISSUE_TIMES = Table(
    "delivery_issue_times",
    "main",
    "One row per issue: when it was created, started and done, and its lead and cycle time, "
    "measured at `as_of`. Started = first entry into an in-progress-category status; done = "
    "start of its final stretch in done-category statuses (reopened work keeps its first start "
    "and final done), or `resolutiondate` for an issue without status changes. Times are UTC.",
    _cols(
        ("key", "VARCHAR", "The issue (`projects.key`)."),
        ("summary", "VARCHAR", "The issue's title."),
        ("issue_type", "VARCHAR", "Issue type (Epic, Story, ...)."),
        ("parent_key", "VARCHAR", "Parent issue or epic, if any."),
        ("status", "VARCHAR", "Status at `as_of`."),
        ("status_category", "VARCHAR", "Its category: `new`, `indeterminate` or `done`."),
        ("created_at", "TIMESTAMPTZ", "Created, UTC."),
        ("started_at", "TIMESTAMPTZ", "First entry into an in-progress-category status (creation "
         "if created in one); null if never started."),
        ("done_at", "TIMESTAMPTZ", "Start of the final done stretch; null while not done."),
        ("lead_time_days", "DOUBLE", "created_at → done_at, fractional days; null while not done."),
        ("cycle_time_days", "DOUBLE", "started_at → done_at, fractional days; null if never "
         "started or not done."),
        ("active_days", "DOUBLE", "Time within the cycle spent in active statuses "
         f"(`{var('delivery.active_statuses')}`), fractional days."),
        ("flow_efficiency", "DOUBLE", "active_days / cycle_time_days (0–1); null without a cycle time."),
        ("reopened_count", "INTEGER", "Times the issue left a done-category status for another."),
        ("status_changes", "INTEGER", "Status changes up to `as_of`."),
        ("done_from", "VARCHAR", "`changelog` or `resolutiondate`: where done_at comes from."),
        ("as_of", "TIMESTAMPTZ", "The moment everything was measured at (see the report)."),
        ("project", "VARCHAR", "Jira project key (`projects.project`)."),
        ("teams", "VARCHAR[]", f"Its teams: the team field (`{var('source.team_field')}`), or the nearest "
         "ancestor's (parent, then the parent's parent) when it has none; empty when no ancestor has one."),
        ("teams_inherited_from", "VARCHAR", "The ancestor whose teams it has, when it has none of its "
         "own; null when the teams are its own."),
    ),
    key=("key",),
)

DELIVERY_STATUS_TIME = Table(
    "delivery_status_time",
    "main",
    "Time in status: per issue and status, the total time spent there over every visit, up to "
    "`as_of` for the status it is in now.",
    _cols(
        ("key", "VARCHAR", "The issue (`projects.key`)."),
        ("status", "VARCHAR", "Status name."),
        ("status_category", "VARCHAR", "`new`, `indeterminate` or `done`."),
        ("category_source", "VARCHAR", "Where that category came from: `configuration`, `jira "
         "status list`, `issues' current status` or `fallback`."),
        ("is_active", "BOOLEAN", f"Listed in {var('delivery.active_statuses')} (work being done)."),
        ("visits", "INTEGER", "Times the issue entered this status (creation counts as entering)."),
        ("days", "DOUBLE", "Total time there, fractional days."),
        ("first_entered_at", "TIMESTAMPTZ", "First entry, UTC."),
        ("last_left_at", "TIMESTAMPTZ", "Last exit, UTC; null while still there."),
        ("is_current", "BOOLEAN", "The issue is in this status at `as_of`."),
        ("as_of", "TIMESTAMPTZ", "The moment everything was measured at."),
        ("project", "VARCHAR", "Jira project key (`projects.project`)."),
        ("teams", "VARCHAR[]", f"Its teams: the team field (`{var('source.team_field')}`), or the nearest "
         "ancestor's (parent, then the parent's parent) when it has none; empty when no ancestor has one."),
    ),
    key=("key", "status"),
)

DELIVERY_WEEKLY_FLOW = Table(
    "delivery_weekly_flow",
    "main",
    "Per ISO week (UTC, Monday to Sunday): arrivals, starts, throughput, and how many issues were "
    "in each status category at the week's end (the cumulative flow diagram).",
    _cols(
        ("week", "VARCHAR", "ISO week, e.g. `2024-W05`."),
        ("week_start", "DATE", "Its Monday."),
        ("week_end_at", "TIMESTAMPTZ", "The instant the end-of-week counts are taken: the next "
         "Monday 00:00 UTC, or `as_of` for the current week."),
        ("is_partial", "BOOLEAN", "The current week, counted up to `as_of` only."),
        ("created", "INTEGER", "Issues created that week."),
        ("started", "INTEGER", "Issues that started (first in-progress entry) that week."),
        ("done", "INTEGER", "Throughput: issues whose done_at falls in the week."),
        ("to_do", "INTEGER", "Issues in a to-do-category status at the week's end."),
        ("in_progress", "INTEGER", "WIP: issues in an in-progress-category status at the week's end."),
        ("done_total", "INTEGER", "Issues in a done-category status at the week's end."),
    ),
    key=("week",),
)

DELIVERY_AGEING_WIP = Table(
    "delivery_ageing_wip",
    "main",
    "Ageing work in progress: every open issue in an in-progress-category status, how long "
    "since it started, against the cycle times of finished issues of the same type.",
    _cols(
        ("key", "VARCHAR", "The issue (`projects.key`)."),
        ("summary", "VARCHAR", "The issue's title."),
        ("issue_type", "VARCHAR", "Issue type; percentiles come from finished issues of this type."),
        ("parent_key", "VARCHAR", "Parent issue or epic, if any."),
        ("status", "VARCHAR", "Status at `as_of`."),
        ("started_at", "TIMESTAMPTZ", "First entry into an in-progress-category status, UTC."),
        ("age_days", "DOUBLE", "started_at → as_of, fractional days."),
        ("days_in_current_status", "DOUBLE", "Since it last entered its current status."),
        ("p50_days", "DOUBLE", "50th percentile (nearest rank) cycle time of finished issues of "
         "this type; null when none finished."),
        ("p85_days", "DOUBLE", "85th percentile cycle time, likewise."),
        ("p95_days", "DOUBLE", "95th percentile cycle time, likewise."),
        ("history_count", "INTEGER", "Finished issues of this type with a cycle time."),
        ("band", "VARCHAR", "`within p50`, `p50-p85`, `p85-p95`, `over p95` or `no history`."),
        ("over_p85", "BOOLEAN", "age_days > p85_days: older than 85% of finished work took; "
         "null without history."),
        ("as_of", "TIMESTAMPTZ", "The moment everything was measured at."),
        ("project", "VARCHAR", "Jira project key (`projects.project`)."),
        ("teams", "VARCHAR[]", f"Its teams: the team field (`{var('source.team_field')}`), or the nearest "
         "ancestor's (parent, then the parent's parent) when it has none; empty when no ancestor has one."),
    ),
    key=("key",),
)

DELIVERY_BOTTLENECKS = Table(
    "delivery_bottlenecks",
    "main",
    "Per issue type, the statuses where issues finished in the last N weeks "
    f"(`{var('delivery.bottleneck_weeks')}`) spent their time before they were done, ranked, "
    "and the open issues of that type that have been there longer than the 85th percentile.",
    _cols(
        ("issue_type", "VARCHAR", "Issue type; ranks are within it."),
        ("status", "VARCHAR", "Status name."),
        ("status_category", "VARCHAR", "`new`, `indeterminate` or `done` (time in a done status "
         "before a reopening)."),
        ("is_active", "BOOLEAN", f"Listed in {var('delivery.active_statuses')}; the others are waiting."),
        ("issues", "INTEGER", "Finished issues that spent time there."),
        ("total_days", "DOUBLE", "Their total time there, fractional days."),
        ("median_days", "DOUBLE", "Median (nearest rank) of their time there."),
        ("p85_days", "DOUBLE", "85th percentile (nearest rank) of their time there."),
        ("rank_by_total", "INTEGER", "1 = most total time, within the issue type."),
        ("rank_by_median", "INTEGER", "1 = longest median time (ties: more total time first)."),
        ("stuck_count", "INTEGER", "Open issues of this type in this status whose total time "
         "there exceeds p85_days."),
        ("stuck_keys", "VARCHAR[]", "Those issues, longest first."),
        ("window_weeks", "INTEGER", "N: the window in weeks."),
        ("window_start", "TIMESTAMPTZ", "as_of minus N weeks: issues done after it count."),
        ("as_of", "TIMESTAMPTZ", "The moment everything was measured at."),
    ),
    key=("issue_type", "status"),
)

DELIVERY_FORECASTS = Table(
    "delivery_forecasts",
    "main",
    "Per epic or parent request: its children done, in progress and to do, and a Monte Carlo "
    "forecast of when the rest will be done, from the weekly number of its children finished "
    "recently (trials draw a week's throughput at random from those weeks until nothing is left).",
    _cols(
        ("parent_key", "VARCHAR", "The epic or parent issue."),
        ("summary", "VARCHAR", "Its title (null when the parent is not in the warehouse)."),
        ("status", "VARCHAR", "Its status at `as_of`."),
        ("children", "INTEGER", "Child issues created by `as_of`."),
        ("children_done", "INTEGER", "Children in a done-category status."),
        ("children_in_progress", "INTEGER", "Children in an in-progress-category status."),
        ("children_to_do", "INTEGER", "Children in a to-do-category status."),
        ("remaining", "INTEGER", "Children not done."),
        ("window_weeks", "INTEGER", "Most recent weeks of throughput sampled "
         f"(`{var('delivery.forecast_weeks')}`)."),
        ("weekly_throughput", "INTEGER[]", "Children done in each 7-day period ending at as_of, "
         "oldest first; only periods since the first child was created."),
        ("trials", "INTEGER", "Monte Carlo trials."),
        ("seed", "BIGINT", "Random seed (the parent key is mixed in), for reproducible runs."),
        ("p50_weeks", "INTEGER", "Weeks within which 50% of trials finished."),
        ("p50_date", "DATE", "as_of + p50_weeks: even odds."),
        ("p85_weeks", "INTEGER", "Weeks within which 85% of trials finished."),
        ("p85_date", "DATE", "as_of + p85_weeks: a date to commit to."),
        ("p95_weeks", "INTEGER", "Weeks within which 95% of trials finished."),
        ("p95_date", "DATE", "as_of + p95_weeks: nearly sure."),
        ("note", "VARCHAR", "Why there is no forecast (all done, no recent throughput), if so."),
        ("as_of", "TIMESTAMPTZ", "The moment everything was measured at."),
        ("project", "VARCHAR", "The epic's Jira project key (null when it is not in the warehouse)."),
        ("teams", "VARCHAR[]", "The epic's teams: its team field, or its nearest ancestor's."),
    ),
    key=("parent_key",),
)

NO_TEAM = "(no team)"

DELIVERY_TEAM_WEEKLY_FLOW = Table(
    "delivery_team_weekly_flow",
    "main",
    "`delivery_weekly_flow` per team and Jira project: each issue counts for each of its teams "
    f"(`delivery_issue_times.teams`; `{NO_TEAM}` when it has none) in its own project. Summing a team's "
    "rows over projects gives the team's flow; summing over teams counts an issue with two teams twice.",
    _cols(
        ("team", "VARCHAR", f"The team, or `{NO_TEAM}`."),
        ("project", "VARCHAR", "Jira project key."),
        ("week", "VARCHAR", "ISO week, e.g. `2024-W05`."),
        ("week_start", "DATE", "Its Monday."),
        ("is_partial", "BOOLEAN", "The current week, counted up to `as_of` only."),
        ("created", "INTEGER", "Issues created that week."),
        ("started", "INTEGER", "Issues that started that week."),
        ("done", "INTEGER", "Throughput: issues done that week."),
        ("to_do", "INTEGER", "Issues in a to-do-category status at the week's end."),
        ("in_progress", "INTEGER", "WIP at the week's end."),
        ("done_total", "INTEGER", "Issues in a done-category status at the week's end."),
    ),
    key=("team", "project", "week"),
)

DELIVERY_TEAM_SUMMARY = Table(
    "delivery_team_summary",
    "main",
    "Per team, over all its Jira projects (`project` null) and per project: throughput, cycle-time "
    "percentiles, work in progress, ageing and the biggest bottleneck, at `as_of`. What the "
    "delivery report shows when a reader picks a team.",
    _cols(
        ("team", "VARCHAR", f"The team, or `{NO_TEAM}` for issues without one."),
        ("project", "VARCHAR", "Jira project key; null on the row covering all the team's projects."),
        ("issues", "INTEGER", "Issues of the team created by `as_of`."),
        ("done_in_window", "INTEGER", f"Issues done in the last `window_weeks` weeks "
         f"(`{var('delivery.bottleneck_weeks')}`)."),
        ("throughput_per_week", "DOUBLE", "done_in_window / window_weeks."),
        ("cycle_p50_days", "DOUBLE", "Median (nearest rank) cycle time of the team's finished "
         "issues, all types together; null when none finished."),
        ("cycle_p85_days", "DOUBLE", "85th percentile cycle time, likewise."),
        ("cycle_p95_days", "DOUBLE", "95th percentile cycle time, likewise."),
        ("work_in_progress", "INTEGER", "Issues in an in-progress-category status at `as_of`."),
        ("ageing_over_p85", "INTEGER", "Of those, how many are older than the p85 cycle time of "
         "finished issues of their type (`delivery_ageing_wip.over_p85`)."),
        ("oldest_wip_key", "VARCHAR", "The in-progress issue that started longest ago."),
        ("oldest_wip_days", "DOUBLE", "Its age in days."),
        ("bottleneck_status", "VARCHAR", "The waiting status (in progress, not active) where the "
         "team's issues finished in the window spent most time in total (any in-progress status "
         "if none waited); null when none finished."),
        ("bottleneck_days", "DOUBLE", "That total, fractional days."),
        ("window_weeks", "INTEGER", "The window in weeks."),
        ("as_of", "TIMESTAMPTZ", "The moment everything was measured at."),
    ),
    key=("team", "project"),
    nullable_key=("project",),
)

DELIVERY_TEAM_BOTTLENECKS = Table(
    "delivery_team_bottlenecks",
    "main",
    "`delivery_bottlenecks` per team: for each team, issue type and status, the time that the "
    "team's issues finished in the last N weeks spent there, ranked within the team and type, and "
    "the team's open issues stuck there beyond the 85th percentile.",
    _cols(
        ("team", "VARCHAR", f"The team, or `{NO_TEAM}`."),
        ("issue_type", "VARCHAR", "Issue type; ranks are within the team and type."),
        ("status", "VARCHAR", "Status name."),
        ("status_category", "VARCHAR", "`new`, `indeterminate` or `done`."),
        ("is_active", "BOOLEAN", f"Listed in {var('delivery.active_statuses')}."),
        ("issues", "INTEGER", "The team's finished issues that spent time there."),
        ("total_days", "DOUBLE", "Their total time there, fractional days."),
        ("median_days", "DOUBLE", "Median (nearest rank) of their time there."),
        ("p85_days", "DOUBLE", "85th percentile (nearest rank) of their time there."),
        ("rank_by_total", "INTEGER", "1 = most total time, within the team and type."),
        ("rank_by_median", "INTEGER", "1 = longest median time."),
        ("stuck_count", "INTEGER", "The team's open issues of this type in this status beyond p85_days."),
        ("stuck_keys", "VARCHAR[]", "Those issues, longest first."),
        ("window_weeks", "INTEGER", "N: the window in weeks."),
        ("window_start", "TIMESTAMPTZ", "as_of minus N weeks."),
        ("as_of", "TIMESTAMPTZ", "The moment everything was measured at."),
    ),
    key=("team", "issue_type", "status"),
)

DELIVERY_TABLES = (DELIVERY_ISSUE_TIMES, DELIVERY_STATUS_TIME, DELIVERY_WEEKLY_FLOW,
                   DELIVERY_AGEING_WIP, DELIVERY_BOTTLENECKS, DELIVERY_FORECASTS,
                   DELIVERY_TEAM_WEEKLY_FLOW, DELIVERY_TEAM_SUMMARY, DELIVERY_TEAM_BOTTLENECKS)

# --- the impacting funnel --------------------------------------------------------------------------

FUNNEL_STAGES = ("created", "triaged", "teams confirmed", "work started", "done")

IMPACTING_FUNNEL = Table(
    "impacting_funnel",
    "main",
    "Every request (an issue without a parent) through the impacting funnel: created → triaged "
    "(the first team decision) → teams confirmed (a person's feedback or Jira's team field) → "
    "work started (its first delivery item in progress) → done, with the days between, and the "
    "reading it spared: teams not asked to read × its words ÷ "
    f"{var('delivery.reading_words_per_minute')} × {var('delivery.readers_per_team')}.",
    _cols(
        ("request_key", "VARCHAR", "The request (`projects.key`)."),
        ("summary", "VARCHAR", "Its title."),
        ("project", "VARCHAR", "Jira project key."),
        ("created_at", "TIMESTAMPTZ", "Created, UTC."),
        ("triaged_at", "TIMESTAMPTZ", "Its first team decision, UTC: the team model's first decisions "
         "for it, or the teams being confirmed, whichever came first; null while untriaged.", RUN_TIME),
        ("triaged_by", "VARCHAR", "`model` (the team model decided first) or `person` (teams were "
         "confirmed before any model decision, e.g. filled in when the request was created)."),
        ("teams_confirmed_at", "TIMESTAMPTZ", "When its teams were first confirmed, UTC: the earlier of "
         "a confirmation in `team_feedback` and the team field being filled in "
         "(`projects.teams_set_at`).", RUN_TIME),
        ("confirmed_by", "VARCHAR", "`team field` or `feedback`."),
        ("work_started_at", "TIMESTAMPTZ", "When the first of its delivery items (child issues, "
         "at any depth) entered an in-progress-category status; for a request without delivery items, "
         "its own first in-progress status (`delivery_issue_times.started_at`)."),
        ("done_at", "TIMESTAMPTZ", "When it was done (`delivery_issue_times.done_at`)."),
        ("stage", "VARCHAR", "The furthest stage reached: " + ", ".join(f"`{s}`" for s in FUNNEL_STAGES)
         + ". A stage reached without the one before (work started before any triage) still counts."),
        ("days_to_triage", "DOUBLE", "created → triaged, fractional days.", RUN_TIME),
        ("days_to_confirm", "DOUBLE", "triaged → teams confirmed.", RUN_TIME),
        ("days_to_start", "DOUBLE", "teams confirmed → work started (negative when work started first)."),
        ("days_to_done", "DOUBLE", "work started → done."),
        ("lead_time_days", "DOUBLE", "created → done."),
        ("days_in_stage", "DOUBLE", "Time since it reached its current stage, to `as_of`; null once "
         "done.", RUN_TIME),
        ("teams_known", "INTEGER", "Teams the team model knew at the first model decision (all it "
         "could have asked)."),
        ("teams_asked", "INTEGER", "Teams asked to read it at the first model decision: `notify` "
         "plus `unsure`."),
        ("teams_notified", "INTEGER", "Of those, `notify`."),
        ("teams_asked_list", "VARCHAR[]", "The teams asked to read it, most likely first."),
        ("teams_confirmed", "VARCHAR[]", "Its teams now (team field, plus confirmed and minus rejected "
         "feedback)."),
        ("document_words", "INTEGER", "Words of its description and readable design documents."),
        ("reading_hours_saved", "DOUBLE", "Hours of reading spared: for every known team not asked, "
         f"its readers ({var('delivery.readers_per_team')}, or {var('delivery.team_readers')}) × "
         f"document_words ÷ {var('delivery.reading_words_per_minute')} ÷ 60. Null when the model "
         "did not triage it."),
        ("as_of", "TIMESTAMPTZ", "The moment the funnel was measured at: the delivery report's as_of, or "
         "its newest event if later (a replayed export's decisions are made at run time).", RUN_TIME),
    ),
    key=("request_key",),
)

IMPACTING_FUNNEL_WEEKLY = Table(
    "impacting_funnel_weekly",
    "main",
    "The impacting funnel per ISO week (UTC): how many requests reached each stage that week, how "
    "long they took to be triaged and confirmed, and the reading hours the week's triage spared.",
    _cols(
        ("week", "VARCHAR", "ISO week, e.g. `2024-W05`."),
        ("week_start", "DATE", "Its Monday."),
        ("created", "INTEGER", "Requests created that week."),
        ("triaged", "INTEGER", "Requests first triaged that week."),
        ("triaged_by_model", "INTEGER", "Of those, by the team model."),
        ("teams_confirmed", "INTEGER", "Requests whose teams were first confirmed that week."),
        ("work_started", "INTEGER", "Requests whose work started that week."),
        ("done", "INTEGER", "Requests done that week."),
        ("median_days_to_triage", "DOUBLE", "Median days created → triaged of the requests triaged "
         "that week.", RUN_TIME),
        ("median_days_to_confirm", "DOUBLE", "Median days created → teams confirmed of the requests "
         "confirmed that week.", RUN_TIME),
        ("reading_hours_saved", "DOUBLE", "Reading hours spared by that week's model triage."),
        ("awaiting_triage", "INTEGER", "Requests created but not yet triaged at the week's end."),
    ),
    key=("week",),
)

FIRST_TEAM_DECISIONS = Table(
    "first_team_decisions",
    "internal",
    "The team model's first decisions for each request, kept for good (`team_predictions` is "
    "replaced every run): when the request was first triaged and which teams were asked to read it.",
    _cols(
        ("request_key", "VARCHAR", "The request (`projects.key`)."),
        ("decided_at", "TIMESTAMPTZ", "When the model first decided its teams (`team_predictions."
         "predicted_at`), UTC."),
        ("model_version", "VARCHAR", "The model that decided (`models.version`)."),
        ("teams_scored", "VARCHAR[]", "Every team the model scored (all it knew), most likely first."),
        ("teams_notified", "VARCHAR[]", "Teams decided `notify`, most likely first."),
        ("teams_unsure", "VARCHAR[]", "Teams decided `unsure`, most likely first."),
    ),
    key=("request_key",),
)

FUNNEL_TABLES = (IMPACTING_FUNNEL, IMPACTING_FUNNEL_WEEKLY, FIRST_TEAM_DECISIONS)

INGEST_TABLES = (RAW_ISSUES, RAW_ATTACHMENTS, PROJECTS, DOCUMENTS, STATUS_CHANGES, SYNC_CURSORS)

# --- people: what each request becomes for the people who read it -----------------------------

REQUEST_SUMMARIES = Table(
    "request_summaries",
    "main",
    "Two summaries of each request awaiting triage as a whole: its description and its readable "
    "documents read together, the main design document (the longest) first, then the description, "
    "then the other documents. `executive` is about "
    f"{var('language.executive_words')} words, `standard` {var('language.summary_ratio')} of the "
    f"request's prose (or {var('language.summary_words')} words). The brief shows these rather "
    "than one summary per file.",
    _cols(
        ("request_key", "VARCHAR", "The request (`projects.key`)."),
        ("kind", "VARCHAR", "`executive` or `standard`."),
        ("text", "VARCHAR", "The summary; empty when the request has no prose at all."),
        ("words", "INTEGER", "Words in `text`."),
        ("request_words", "INTEGER", "Prose words of the description and documents together "
         "(what a ratio applies to)."),
        ("degree", "VARCHAR", "The length asked for, e.g. `60 words` or `ratio 0.1`."),
        ("method", "VARCHAR", "`extractive` or `abstractive`, as for `summaries`."),
        ("parts", "VARCHAR[]", "What was read, in reading order: document ids "
         "(`documents.document_id`) and `<key>/description`, the main design document first."),
        ("sentences", "VARCHAR[]", "The sentences it was made from, as `<document id>:<chunk index>` "
         "(`chunks`, or the description's chunks), in reading order."),
    ),
    key=("request_key", "kind"),
)

BRIEFS = Table(
    "briefs",
    "main",
    "One brief per request awaiting triage: the one page a team lead reads to decide whether the "
    "team is needed. The executive summary, keywords, the teams to read with their evidence and "
    "the sections of the document each should read, the unsure teams, similar past projects, the "
    "standard summary, document problems and the model behind it. The same page is in the site "
    f"({var('site.site_dir')}) as `page_path`.",
    _cols(
        ("request_key", "VARCHAR", "The request (`projects.key`)."),
        ("title", "VARCHAR", "Its title."),
        ("created_at", "TIMESTAMPTZ", "When the request was created, UTC (the site lists newest "
         "first)."),
        ("notify_teams", "VARCHAR[]", "The teams asked to read it (`team_predictions.decision = "
         "'notify'`), most likely first."),
        ("unsure_teams", "VARCHAR[]", "The teams a person should decide on (`unsure`)."),
        ("markdown", "VARCHAR", "The brief as Markdown (also `briefs/<key>.md` in the site); its "
         "footer says when it was made and by which model.", RUN_TIME),
        ("brief", "JSON", "The brief as data: what the site's pages and `impacting triage --format "
         "json` are made from.", RUN_TIME),
        ("page_path", "VARCHAR", "The brief's page, relative to the site folder: "
         "`briefs/<key>.html`."),
        ("model_version", "VARCHAR", "The team model behind its decisions (`models.version`); "
         "null before any model exists.", RUN_TIME),
        ("generated_at", "TIMESTAMPTZ", "When the brief was made, UTC.", RUN_TIME),
    ),
    key=("request_key",),
)

PEOPLE_TABLES = (REQUEST_SUMMARIES, BRIEFS, ALERT_DELIVERIES, MESSAGES, JIRA_COMMENTS)


# --- portfolio themes --------------------------------------------------------------------------------

THEMES = Table(
    "themes",
    "main",
    "What the department is asked to do: every request (past projects and requests awaiting "
    "triage, as in `triage_corpus`) clustered by meaning (k-means on its document vector, centred "
    "as the similar-project search centres them), each theme named by the keywords most distinctive "
    "of it. Theme ids and labels are kept from run to run (new themes are matched to the previous "
    "run's), so a theme is not renamed because one request arrived.",
    _cols(
        ("theme_id", "INTEGER", "The theme's id, stable across runs while the theme lasts."),
        ("label", "VARCHAR", "Its name: its most distinctive keywords, kept while they still "
         "describe it."),
        ("keywords", "VARCHAR[]", "Its most distinctive keywords, best first: phrases among its "
         "requests' `keywords` that occur in many of its requests and in few others."),
        ("keyword_shares", "DOUBLE[]", "For each keyword, the share of the theme's requests whose "
         "text holds it."),
        ("size", "INTEGER", "Requests in the theme."),
        ("past_projects", "INTEGER", "Of those, past projects (teams known)."),
        ("awaiting_triage", "INTEGER", "Of those, requests awaiting triage."),
        ("top_teams", "VARCHAR[]", "The teams most often involved in its past projects, most first."),
        ("first_created_at", "TIMESTAMPTZ", "When its oldest request was created, UTC."),
        ("median_created_at", "TIMESTAMPTZ", "The median creation time of its requests: when the "
         "theme was asked for, typically."),
        ("last_created_at", "TIMESTAMPTZ", "When its newest request was created, UTC."),
        ("representative_key", "VARCHAR", "The request closest to the theme's centroid."),
        ("representative_title", "VARCHAR", "Its title."),
        ("cohesion", "DOUBLE", "Mean silhouette of its requests (-1..1): how much closer they are to "
         "each other than to the next theme."),
        ("first_seen_at", "TIMESTAMPTZ", "The run that first found this theme, UTC.", RUN_TIME),
        ("label_since", "TIMESTAMPTZ", "The run that gave it its current label, UTC.", RUN_TIME),
        ("clustered_at", "TIMESTAMPTZ", "This run, UTC.", RUN_TIME),
    ),
    key=("theme_id",),
)

PROJECT_THEMES = Table(
    "project_themes",
    "main",
    "Each clustered request's theme (`themes`), how close it is to the theme's centre, and the "
    "next-closest theme.",
    _cols(
        ("request_key", "VARCHAR", "The request (`projects.key`)."),
        ("theme_id", "INTEGER", "Its theme (`themes.theme_id`)."),
        ("theme_label", "VARCHAR", "The theme's label."),
        ("distance", "DOUBLE", "Cosine distance (0..2) from its centred document vector to the "
         "theme's centroid: smaller is more typical of the theme."),
        ("silhouette", "DOUBLE", "Its silhouette (-1..1): near 1 clearly in its theme, near 0 "
         "between two themes."),
        ("second_theme_id", "INTEGER", "The next-closest theme."),
        ("second_distance", "DOUBLE", "Cosine distance to that theme's centroid."),
    ),
    key=("request_key",),
)

THEME_TRENDS = Table(
    "theme_trends",
    "main",
    "Requests created per theme and calendar quarter (UTC), every quarter from the first request "
    "to the last included (zeros too), so a trend line needs no gap filling.",
    _cols(
        ("theme_id", "INTEGER", "The theme (`themes.theme_id`)."),
        ("quarter", "VARCHAR", "Calendar quarter, e.g. `2022-Q3`."),
        ("quarter_start", "DATE", "Its first day."),
        ("requests_created", "INTEGER", "The theme's requests created in the quarter."),
        ("share_of_quarter", "DOUBLE", "Their share of all clustered requests created in the "
         "quarter (0..1; null when none was)."),
    ),
    key=("theme_id", "quarter"),
)

THEME_SELECTION = Table(
    "theme_selection",
    "main",
    "How the number of themes was chosen: for every k tried, k-means' inertia (the elbow curve) "
    "and the mean silhouette, which k each method suggests, and which was used "
    f"({var('themes.k_method')}, or {var('themes.k')}).",
    _cols(
        ("k", "INTEGER", "Number of themes tried."),
        ("inertia", "DOUBLE", "Sum of squared distances of requests to their theme's centroid (on "
         "centred unit vectors): falls as k grows; its knee is the elbow."),
        ("silhouette", "DOUBLE", "Mean silhouette of all requests (-1..1): higher is better separated."),
        ("is_elbow", "BOOLEAN", "The knee of the inertia curve (Kneedle: the point farthest below "
         "the line from the first to the last point, curves scaled to 0..1)."),
        ("is_best_silhouette", "BOOLEAN", "The highest silhouette."),
        ("is_chosen", "BOOLEAN", "The k this run used."),
        ("method", "VARCHAR", "What chose it: `elbow`, `silhouette`, `fixed`, `kept` (the previous "
         "run's k, whose score is within the tolerance of the best) or a fallback."),
        ("note", "VARCHAR", "On the chosen row: why this k."),
    ),
    key=("k",),
)

THEME_MEMORY = Table(
    "theme_memory",
    "internal",
    "Every theme ever found, with its centroid, so the next run can match its clusters to these "
    "and keep their ids and labels.",
    _cols(
        ("theme_id", "INTEGER", "The theme's id."),
        ("label", "VARCHAR", "Its label."),
        ("keywords", "VARCHAR[]", "Its distinctive keywords when last seen."),
        ("centroid", "FLOAT[]", "Mean of its requests' document vectors (the model's space, not "
         "centred), when last seen."),
        ("model_id", "VARCHAR", "The embedding model of those vectors."),
        ("size", "INTEGER", "Its requests when last seen."),
        ("first_seen_at", "TIMESTAMPTZ", "When it was first found."),
        ("label_since", "TIMESTAMPTZ", "When it got its label."),
        ("last_seen_at", "TIMESTAMPTZ", "The last run that found it."),
        ("active", "BOOLEAN", "Found by the last run."),
    ),
    key=("theme_id",),
)

THEME_TABLES = (THEMES, PROJECT_THEMES, THEME_TRENDS, THEME_SELECTION, THEME_MEMORY)

# --- the partitioned backfill (docs/scaling.md) -------------------------------------------------

DOCUMENT_EXTRACTIONS = Table(
    "document_extractions",
    "internal",
    "Texts the embedding backfill's partitions extracted from stored attachments, merged by "
    "`embedding_cache`: the nightly `documents` step reuses them (by SHA-256 and extractor "
    "version, as it reuses its own previous rows) instead of reading the content again. Each "
    "merge drops the rows `documents` already holds and those of another extractor version.",
    # the columns `documents` takes from reading the content, declared there
    tuple(column for column in DOCUMENTS.columns
          if column.name in ("sha256", "extractor_version", "format", "word_count", "headings", "text",
                             "extraction_status", "extraction_reason")),
    key=("sha256", "extractor_version"),
)

BACKFILL_TABLES = (DOCUMENT_EXTRACTIONS,)

# Later stages declare their tables above this line and add them here.
ALL_TABLES: tuple[Table, ...] = (*INGEST_TABLES, REJECTS, RUN_FAILURES, *LANGUAGE_TABLES,
                                 *TRIAGE_TABLES, *THEME_TABLES, RAW_STATUSES, *DELIVERY_TABLES,
                                 *FUNNEL_TABLES, WAREHOUSE_INFO, *PEOPLE_TABLES, *BACKFILL_TABLES)


def table(qualified_or_name: str) -> Table:
    """Look a declared table up by `schema.name` or bare name."""
    for candidate in ALL_TABLES:
        if qualified_or_name in (candidate.qualified, candidate.name):
            return candidate
    raise KeyError(f"no declared table {qualified_or_name!r}")

"""The people stage: what reaches people, and how.

- `brief.py`, `gather.py`, `nightly.py`, `on_demand.py`, `reading.py`: each request's brief,
  gathered from what the pipeline computed (and, for `impacting triage`, computed for a draft);
- `render_markdown.py`, `render_html.py`, `html_page.py`, `site_pages.py`, `paths.py`,
  `site.py`: the static site around the briefs, published in one step;
- `routing.py`: the routing file (YAML): where each team, person and the triage lead is reached;
- `experts.py`: the people who delivered similar past work, ranked by the work they did;
- `digests.py`: one message per recipient per run, listing all its new requests;
- `channels/`: one module per channel kind (Slack, Teams, a JSON webhook, email);
- `messages.py`: the state of every (alert, channel) pair across runs, and the run that sends;
- `jira_comments.py`: the optional comment back on each triaged request in Jira.

Nothing here imports Dagster; `impacting.defs.people` wires it.
"""

"""The people stage: who hears about which request, once, in the place they already work.

- `routing.py`: the routing file (YAML): where each team, person and the triage lead is reached;
- `experts.py`: the people who delivered similar past work, ranked by the work they did;
- `digests.py`: one message per recipient per run, listing all its new requests;
- `channels/`: one module per channel kind (Slack, Teams, a JSON webhook, email);
- `messages.py`: the state of every (alert, channel) pair across runs, and the run that sends;
- `jira_comments.py`: the optional comment back on each triaged request in Jira.

Nothing here imports Dagster; `impacting.defs.people` wires it.
"""

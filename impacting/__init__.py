"""impacting: project-impacting triage over Jira requests and their design documents."""

"""What reaches people: each request's brief (gathered from what the pipeline computed, rendered
as Markdown and HTML), the static site around the briefs, and `impacting triage` for a draft."""

"""Triage: which teams a request impacts, the past projects it resembles, and who to alert."""

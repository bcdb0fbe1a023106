"""Readers that turn Jira descriptions and design documents into clean text."""

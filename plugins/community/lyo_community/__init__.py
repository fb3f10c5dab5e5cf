"""Lyo's community plugin: discussions (optionally about a course or lesson), threaded
replies, reactions, reports, moderation, full-text search. See README.md."""

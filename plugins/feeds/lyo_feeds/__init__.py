"""The ``feeds`` plugin: activities built from other plugins' events (by type string),
follows of users and courses, cursor-paginated feeds, per-user privacy, aggregation of
similar activities, and live pushes on ``user:{id}``."""

__version__ = "0.1.0"

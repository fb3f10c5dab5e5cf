"""The ``feeds`` plugin: activities built from other plugins' events (by type string),
follows of users and courses, cursor-paginated feeds, per-user privacy, aggregation of
similar activities, live pushes on ``user:{id}``, and discovery (recommendations,
similar content, semantic search) over sentence-transformers embeddings computed in
worker tasks."""

"""A small plugin with models, used by the database tests (and a model for plugin authors)."""

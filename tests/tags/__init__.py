"""A second plugin with models that requires `notes`: migrations run in dependency order."""

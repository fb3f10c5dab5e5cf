"""The plugin's tasks: none yet (completion roll-up runs in the request's transaction)."""

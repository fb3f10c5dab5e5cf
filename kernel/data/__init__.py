"""Data: the database, the kernel's tables and migrations, pagination, cache, uploads, batching."""

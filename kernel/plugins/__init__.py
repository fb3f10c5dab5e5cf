"""Plugins: the manifest, every hook, discovery and loading."""

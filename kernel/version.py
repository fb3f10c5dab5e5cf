"""The kernel's version, which plugin manifests' ``kernel`` ranges are checked against."""

__version__ = "0.1.0"

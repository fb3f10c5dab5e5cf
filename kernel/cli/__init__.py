"""The ``lyo`` command: serving, workers, migrations, the plugin scaffold."""

from kernel.cli.commands import main
from kernel.cli.context import with_kernel, with_kernel_loaded

__all__ = ["main", "with_kernel", "with_kernel_loaded"]

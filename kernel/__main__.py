"""``python -m kernel`` is ``lyo``."""

from kernel.cli import main

main()

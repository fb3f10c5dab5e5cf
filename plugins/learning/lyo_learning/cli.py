"""``lyo learning ...``: the plugin's commands; none yet."""

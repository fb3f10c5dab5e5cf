"""No process imports torch or transformers at start-up: an app with every installed
plugin, started, has neither module loaded (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import asyncio, json, sys
from kernel import Settings, create_app

async def main():
    app = create_app(Settings(env="test", database_url="sqlite://:memory:", access_log=False))
    async with app.test_app():
        client = app.test_client()
        await client.get("/health/ready")
        await client.post("/api/ai/courses", json={"topic": "x"})
    plugins = {p.name: p.state for p in app.kernel.plugins.values()}
    print(json.dumps({"plugins": plugins,
                      "loaded": [m for m in ("torch", "transformers") if m in sys.modules]}))

asyncio.run(main())
"""


def test_starting_the_app_with_every_plugin_imports_no_model_library() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LYO_")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["plugins"].get("ai") == "active", report
    assert report["loaded"] == []

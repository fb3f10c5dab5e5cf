"""A cheap HTTP/1.1 load generator for the benchmarks, where wrk is not installed.

Keep-alive connections on raw asyncio streams, each sending one request at a time
(closed loop, like wrk): requests are prepared bytes, answers are read by their
``Content-Length``, and nothing else is parsed, so the client costs a few tens of
microseconds per request (httpx costs about ten times that, and shares the machine
with the server it measures). Run it in a process of its own::

    python -m bench._load URL --seconds 10 --connections 16 [-H 'Name: value'] \\
        [--method POST --bodies bodies.json]

prints ``{"rps", "p50_ms", "p99_ms", "requests", "errors", "dropped", "seconds",
"client_cpu_ms"}`` as JSON (``errors``: answers that are not 2xx; ``dropped``:
connections the server closed, reopened; ``client_cpu_ms``: its own CPU per request).
``--bodies`` names a JSON list of bodies sent in turn (JSON requests).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any
from urllib.parse import urlsplit


def percentiles(seconds: list[float]) -> dict[str, float]:
    if len(seconds) < 2:
        value = round(seconds[0] * 1000, 2) if seconds else 0.0
        return {"p50_ms": value, "p99_ms": value}
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 2), "p99_ms": round(cuts[98] * 1000, 2)}


def requests_for(url: str, method: str, headers: list[str], bodies: list[Any]) -> list[bytes]:
    """The request bytes to send, in turn."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", *headers]
    if not bodies:
        return [("\r\n".join(head) + "\r\n\r\n").encode()]
    made = []
    for body in bodies:
        data = json.dumps(body).encode()
        lines = [*head, "Content-Type: application/json", f"Content-Length: {len(data)}"]
        made.append(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
    return made


async def run(url: str, seconds: float, connections: int, prepared: list[bytes]) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    durations: list[float] = []
    errors = 0
    sent = 0
    dropped = 0
    deadline = time.perf_counter() + seconds

    async def lane() -> None:
        nonlocal errors, sent, dropped
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (started := time.perf_counter()) < deadline:
                writer.write(prepared[sent % len(prepared)])
                sent += 1
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    dropped += 1  # the server closed the connection: open another
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                        break
                if length:
                    await reader.readexactly(length)
                durations.append(time.perf_counter() - started)
                errors += not 200 <= status < 300
        finally:
            writer.close()

    cpu, begun = time.process_time(), time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(connections)))
    elapsed = time.perf_counter() - begun
    cpu = time.process_time() - cpu
    return {
        "rps": len(durations) / elapsed,
        **percentiles(durations),
        "requests": len(durations),
        "errors": errors,
        "dropped": dropped,
        "seconds": round(elapsed, 3),
        "client_cpu_ms": round(cpu * 1000 / max(1, len(durations)), 4),
    }


def server_cpu(pid: int) -> float:
    """User and system CPU seconds of process ``pid`` and its descendants (``/proc``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                total += sum(server_cpu(int(child)) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


async def alternate(
    targets: dict[str, str], headers: dict[str, list[str]], connections: int,
    slice_s: float, cycles: int, pid: int,
) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    """Load each target in turn for ``slice_s`` seconds, ``cycles`` times (after one
    cycle of warm-up), so that consecutive slices of two targets see the same machine;
    per target, per cycle: requests/s, latency and the server's CPU per request."""
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for cycle in range(cycles + 1):
        for name, url in targets.items():
            prepared = requests_for(url, "GET", headers[name], [])
            cpu = server_cpu(pid)
            result = await run(url, slice_s, connections, prepared)
            result["cpu_ms"] = (server_cpu(pid) - cpu) * 1000 / max(1, result["requests"])
            if cycle:
                found[name].append(result)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--method", default="GET")
    parser.add_argument("-H", "--header", action="append", default=[])
    parser.add_argument("--bodies", help="a JSON file: a list of bodies sent in turn")
    parser.add_argument("--alternate", metavar="JSON", help=(
        'a file {"targets": {name: url}, "headers": {name: [...]}, "slice": s, "cycles": n, '
        '"pid": server pid}: the targets in turn (URL is then ignored)'))  # fmt: skip
    args = parser.parse_args()
    if args.alternate:
        with open(args.alternate) as source:
            spec = json.load(source)
        found = asyncio.run(alternate(spec["targets"], spec["headers"], args.connections,
                                      spec["slice"], spec["cycles"], spec["pid"]))  # fmt: skip
        json.dump(found, sys.stdout)
        return
    bodies: list[Any] = []
    if args.bodies:
        with open(args.bodies) as source:
            bodies = json.load(source)
    prepared = requests_for(args.url, args.method, args.header, bodies)
    result = asyncio.run(run(args.url, args.seconds, args.connections, prepared))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()

"""Sign-in (argon2id) per second and authenticated ``GET /api/auth/me`` requests/s through
the whole kernel, each against its own baseline measured in the same run.

- **argon2**: argon2-cffi's ``PasswordHasher`` with the parameters the auth plugin uses
  (its settings' defaults: OWASP's m=19 MiB, t=2, p=1), hashing and verifying in a loop,
  with 1 and 2 threads, in one process pinned to the server's CPU.
- **login**: ``lyo serve`` (Hypercorn, one worker, ``LYO_ENV=test``, only the auth plugin,
  a fresh PostgreSQL database, Redis for limits and the revocation list) after ``--users``
  accounts were registered through ``POST /api/auth/register``; wrk, in another process,
  posts ``/api/auth/login`` with a Lua script rotating the accounts. Baseline: raw argon2
  verifies/s with 1 thread on the same CPU.
- **me**: ``GET /api/auth/me`` with a valid bearer token, against the kernel's
  unauthenticated trivial route ``GET /health/live`` on the same server, same load.

The server and the argon2 loop get the first CPU, wrk the second (when there are two);
PostgreSQL and Redis run unpinned on the same machine. From the repository root::

    pip install -e . -e plugins/auth         # and apt-get install -y wrk
    python bench/auth.py                     # --quick: under a minute; --json PATH
"""

from __future__ import annotations

import os
import sys

if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)  # run as ``python bench/auth.py``: bench/http.py would hide the stdlib's

import argparse
import asyncio
import json
import platform
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery staple 42"
#: limits far above what a benchmark reaches (the defaults would throttle it)
NO_LIMIT = "1000000/minute"
PACKAGES = ("argon2-cffi", "argon2-cffi-bindings", "pyjwt", "quart", "hypercorn",
            "tortoise-orm", "asyncpg", "redis", "limits")  # fmt: skip
Pin = Callable[[], None] | None


# -- the raw argon2 baseline -----------------------------------------------------------------


def argon2_loop(op: str, threads: int, seconds: float) -> dict[str, Any]:
    """``op`` ("hash" or "verify") in a loop on ``threads`` threads for ``seconds``."""
    from argon2 import PasswordHasher
    from lyo_auth.settings import AuthSettings

    s = AuthSettings()
    hasher = PasswordHasher(
        time_cost=s.argon2_time_cost,
        memory_cost=s.argon2_memory_cost,
        parallelism=s.argon2_parallelism,
    )
    hashed = hasher.hash(PASSWORD)
    work = (lambda: hasher.hash(PASSWORD)) if op == "hash" else (
        lambda: hasher.verify(hashed, PASSWORD)
    )  # fmt: skip
    for _ in range(3):
        work()
    durations: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def lane() -> None:
        mine = []
        while (started := time.perf_counter()) < deadline:
            work()
            mine.append(time.perf_counter() - started)
        with lock:
            durations.extend(mine)

    begun = time.perf_counter()
    lanes = [threading.Thread(target=lane) for _ in range(threads)]
    for t in lanes:
        t.start()
    for t in lanes:
        t.join()
    elapsed = time.perf_counter() - begun
    params = {"m_kib": s.argon2_memory_cost, "t": s.argon2_time_cost, "p": s.argon2_parallelism}
    return {"op": op, "threads": threads, "rps": len(durations) / elapsed,
            **percentiles(durations), "params": params}  # fmt: skip


def raw_argon2(seconds: float, pin: Pin) -> dict[str, dict[str, Any]]:
    """Hash and verify with 1 and 2 threads, in a process of its own on ``pin``'s CPU."""
    cmd = [sys.executable, __file__, "--argon2", str(seconds)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, preexec_fn=pin)
    if out.returncode != 0:
        raise SystemExit(f"the argon2 loop failed:\n{out.stderr}")
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def argon2_main(seconds: float) -> None:
    results = {f"{op}/{n}": argon2_loop(op, n, seconds) for op in ("hash", "verify")
               for n in (1, 2)}  # fmt: skip
    print(json.dumps(results))


def percentiles(seconds: list[float]) -> dict[str, float]:
    if len(seconds) < 2:
        value = round(seconds[0] * 1000, 2) if seconds else 0.0
        return {"p50_ms": value, "p99_ms": value}
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 2), "p99_ms": round(cuts[98] * 1000, 2)}


# -- the server ------------------------------------------------------------------------------


@contextmanager
def database(sqlite: bool) -> Iterator[str]:
    """A fresh PostgreSQL database (``kernel.testing.temporary_database``), or a SQLite file
    in a temporary directory; removed afterwards."""
    if sqlite:
        with tempfile.TemporaryDirectory(prefix="lyo-bench-auth-") as folder:
            yield f"sqlite://{os.path.join(folder, 'lyo.sqlite3')}"
        return
    from kernel.testing import temporary_database

    loop = asyncio.new_event_loop()
    manager = temporary_database()
    try:
        url = loop.run_until_complete(manager.__aenter__())
        try:
            yield url
        finally:
            loop.run_until_complete(manager.__aexit__(None, None, None))
    finally:
        loop.close()


def server_env(url: str, redis: bool) -> dict[str, str]:
    values = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LYO_")},
        "LYO_ENV": "test",
        "LYO_DATABASE_URL": url,
        "LYO_SECRET_KEY": "bench-auth-" + "k" * 40,
        "LYO_ACCESS_LOG": "false",
        "LYO_LOG_LEVEL": "WARNING",
        "LYO_PLUGINS__ENABLED": "auth",
        "LYO_PLUGINS__REQUIRED": "auth",
        "LYO_AUTH__LOGIN_ACCOUNT_LIMIT": NO_LIMIT,
        "LYO_AUTH__LOGIN_ACCOUNT_CEILING": NO_LIMIT,
        "LYO_AUTH__LOGIN_IP_LIMIT": NO_LIMIT,
        "LYO_AUTH__REGISTER_LIMIT": NO_LIMIT,
    }
    if redis:
        values["LYO_REDIS_URL"] = REDIS_URL
        values["LYO_REDIS_PREFIX"] = f"bench-auth-{uuid.uuid4().hex[:10]}"
    return values


def request(url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers)) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    """Until the server answers, and answers ``/api/auth/me`` without a token with 401."""
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            status, _ = request(f"{base}/health/live")
            if status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{base} did not answer in 90 s")
        time.sleep(0.2)
    status, body = request(f"{base}/api/auth/me")
    if status != 401:
        raise SystemExit(f"GET /api/auth/me without a token answered {status}: {body}")


async def register_users(base: str, count: int) -> list[str]:
    """``count`` accounts through the API, 8 at a time; their emails."""
    import httpx

    emails = [f"bench.user{n}@example.com" for n in range(count)]
    gate = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def one(email: str) -> None:
            async with gate:
                body = {"email": email, "password": PASSWORD, "display_name": email[:15]}
                answer = await client.post("/api/auth/register", json=body)
            if answer.status_code != 201:
                raise SystemExit(f"register {email}: {answer.status_code} {answer.text}")

        await asyncio.gather(*(one(email) for email in emails))
    return emails


def login_script(emails: list[str], folder: str) -> str:
    """A wrk Lua script posting ``/api/auth/login`` for each account in turn."""
    bodies = [json.dumps({"email": e, "password": PASSWORD}) for e in emails]
    lua = "\n".join(f"  {json.dumps(b)}," for b in bodies)
    path = os.path.join(folder, "login.lua")
    with open(path, "w") as out:
        out.write(f"""local bodies = {{
{lua}
}}
local n = 0
local headers = {{["Content-Type"] = "application/json"}}
request = function()
  n = n + 1
  return wrk.format("POST", "/api/auth/login", headers, bodies[(n % #bodies) + 1])
end
""")
    return path


# -- load --------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: float, connections: int, pin: Pin, *extra: str) -> dict[str, Any]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
           "--timeout", "10s", *extra, url]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, preexec_fn=pin).stdout
    pcts = re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    latency = {pct: float(value) * _UNITS[unit] for pct, value, unit in pcts}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    result = {
        "rps": float(re.findall(r"Requests/sec:\s+([\d.]+)", out)[0]),
        "p50_ms": latency["50"],
        "p99_ms": latency["99"],
        "requests": int(re.findall(r"(\d+) requests in", out)[0]),
        "errors": int(bad[1]) if bad else 0,
        "socket_errors": socket_errors[1] if socket_errors else None,
    }
    if result["errors"] or result["socket_errors"]:
        print(f"  warning: {url}: {result['errors']} non-2xx answers, socket errors: "
              f"{result['socket_errors']}", file=sys.stderr)  # fmt: skip
    return result


# -- the run -----------------------------------------------------------------------------------


def pins(no_pin: bool) -> tuple[Pin, Pin, bool]:
    affinity = sorted(os.sched_getaffinity(0))
    if no_pin or len(affinity) < 2:
        return None, None, False
    first, second = affinity[0], affinity[1]
    return (
        lambda: os.sched_setaffinity(0, {first}),
        lambda: os.sched_setaffinity(0, {second}),
        True,
    )


def one_round(base: str, script: str, token: str, args: argparse.Namespace,
              server_pin: Pin, load_pin: Pin) -> dict[str, Any]:  # fmt: skip
    """argon2, login, live, me: each load measurement after its own warm-up."""
    raw = raw_argon2(args.argon2_seconds, server_pin)
    bearer = ("-H", f"Authorization: Bearer {token}")
    login_url, live_url, me_url = (f"{base}{p}" for p in
                                   ("/api/auth/login", "/health/live", "/api/auth/me"))  # fmt: skip
    wrk(login_url, args.warmup, args.login_connections, load_pin, "-s", script)
    login = wrk(login_url, args.duration, args.login_connections, load_pin, "-s", script)
    wrk(live_url, args.warmup, args.connections, load_pin)
    live = wrk(live_url, args.duration, args.connections, load_pin)
    wrk(me_url, args.warmup, args.connections, load_pin, *bearer)
    me = wrk(me_url, args.duration, args.connections, load_pin, *bearer)
    print(f"  argon2 verify {raw['verify/1']['rps']:.1f}/s, login {login['rps']:.1f}/s; "
          f"live {live['rps']:.0f} req/s, me {me['rps']:.0f} req/s", file=sys.stderr)  # fmt: skip
    return {"argon2": raw, "login": login, "live": live, "me": me,
            "login_vs_verify": login["rps"] / raw["verify/1"]["rps"],
            "me_vs_live": me["rps"] / live["rps"]}  # fmt: skip


def median_by_rps(items: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(items, key=lambda x: x["rps"])
    return ordered[(len(ordered) - 1) // 2]


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run of each measurement, and the median of the paired ratios."""
    return {
        "argon2": {k: median_by_rps([r["argon2"][k] for r in rounds]) for k in rounds[0]["argon2"]},
        **{k: median_by_rps([r[k] for r in rounds]) for k in ("login", "live", "me")},
        "login_vs_verify": round(statistics.median(r["login_vs_verify"] for r in rounds), 3),
        "me_vs_live": round(statistics.median(r["me_vs_live"] for r in rounds), 3),
        "ratios": {k: [round(r[k], 3) for r in rounds] for k in ("login_vs_verify", "me_vs_live")},
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    server_pin, load_pin, pinned = pins(args.no_pin)
    load_before = [round(x, 2) for x in os.getloadavg()]
    with database(args.sqlite) as url, tempfile.TemporaryDirectory() as folder:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "kernel", "serve", "--port", str(port), "--workers", "1"]
        with tempfile.TemporaryFile() as log:
            server = subprocess.Popen(cmd, cwd=ROOT, env=server_env(url, not args.no_redis),
                                      stdout=log, stderr=log, preexec_fn=server_pin)  # fmt: skip
            try:
                wait_ready(base, server)
                started = time.perf_counter()
                emails = asyncio.run(register_users(base, args.users))
                print(f"registered {len(emails)} accounts in "
                      f"{time.perf_counter() - started:.1f} s", file=sys.stderr)  # fmt: skip
                status, pair = request(f"{base}/api/auth/login",
                                       {"email": emails[0], "password": PASSWORD})  # fmt: skip
                if status != 200:
                    raise SystemExit(f"login answered {status}: {pair}")
                token = pair["access_token"]
                status, me = request(f"{base}/api/auth/me", token=token)
                if status != 200 or me["email"] != emails[0]:
                    raise SystemExit(f"GET /api/auth/me answered {status}: {me}")
                script = login_script(emails, folder)
                rounds = [one_round(base, script, token, args, server_pin, load_pin)
                          for _ in range(args.repeat)]  # fmt: skip
            except BaseException:
                log.seek(0)
                sys.stderr.write(log.read().decode(errors="replace")[-4000:])
                raise
            finally:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(20)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
    return {
        "settings": {
            "database": "sqlite" if args.sqlite else "postgresql",
            "redis": not args.no_redis, "users": args.users, "duration_s": args.duration,
            "warmup_s": args.warmup, "argon2_seconds": args.argon2_seconds,
            "connections": args.connections, "login_connections": args.login_connections,
            "repeat": args.repeat, "pinned": pinned, "wrk_threads": 1,
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "machine": {
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "platform": platform.platform(), "cpu": cpu_model(),
            "packages": {p: _version(p) for p in PACKAGES},
        },
        "results": summarize(rounds),
        "rounds": rounds,
    }  # fmt: skip


def free_port() -> int:
    from kernel.testing import free_port as kernel_free_port

    return kernel_free_port()


def cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def print_table(report: dict[str, Any]) -> None:
    r = report["results"]
    a = r["argon2"]
    print("\n{:<34} {:>9} {:>8} {:>8} {:>8}".format("measurement", "per s", "p50 ms", "p99 ms",
                                                     "ratio"))  # fmt: skip
    rows = [
        ("argon2 hash, 1 thread", a["hash/1"], None),
        ("argon2 hash, 2 threads", a["hash/2"], None),
        ("argon2 verify, 1 thread (baseline)", a["verify/1"], None),
        ("argon2 verify, 2 threads", a["verify/2"], None),
        ("POST /api/auth/login", r["login"], r["login_vs_verify"]),
        ("GET /health/live (baseline)", r["live"], None),
        ("GET /api/auth/me (Bearer)", r["me"], r["me_vs_live"]),
    ]
    for name, m, ratio in rows:
        cell = f"{ratio:.2f}" if ratio is not None else "-"
        print(f"{name:<34} {m['rps']:>9.1f} {m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f} {cell:>8}")
    for key, label in (("login_vs_verify", "login / raw verify"), ("me_vs_live", "me / live")):
        runs = ", ".join(f"{x:.3f}" for x in r["ratios"][key])
        print(f"{label}: {r[key]:.3f} (each run: {runs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round (under a minute)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per wrk run")
    parser.add_argument("--argon2-seconds", type=float, default=4,
                        help="seconds per raw argon2 mode (4 modes per round)")  # fmt: skip
    parser.add_argument("--connections", type=int, default=16, help="for /me and /health/live")
    parser.add_argument("--login-connections", type=int, default=4)
    parser.add_argument("--users", type=int, default=50, help="accounts the logins rotate over")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians kept")
    parser.add_argument("--sqlite", action="store_true", help="SQLite file instead of PostgreSQL")
    parser.add_argument("--no-redis", action="store_true", help="in-process cache and limits")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument("--argon2", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.argon2:
        return argon2_main(args.argon2)
    if not shutil.which("wrk"):
        raise SystemExit("bench/auth.py needs wrk: apt-get install -y wrk (Debian/Ubuntu), "
                         "brew install wrk (macOS), or build github.com/wg/wrk")  # fmt: skip
    if args.quick:
        args.duration, args.warmup, args.argon2_seconds = 4, 1, 1.5
        args.repeat, args.users = 1, min(args.users, 16)
    report = measure(args)
    print_table(report)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    return None


if __name__ == "__main__":
    main()

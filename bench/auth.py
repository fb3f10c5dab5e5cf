"""Sign-in and authenticated reads through the whole kernel, each against its own baseline
measured in the same run, round after round (interleaved), medians of the rounds.

- **login**: ``POST /api/auth/login`` at 1 and at 4 connections, rotating over
  ``--users`` accounts, against **raw argon2**: argon2-cffi's ``PasswordHasher`` with the
  plugin's parameters (its settings' defaults, OWASP's m=19 MiB, t=2, p=1) verifying in
  a loop on one thread, in a process pinned to the server's CPU, run before, between
  and after the two login measurements (each compared with the two runs beside it).
- **token check**: ``GET /api/benchauth/guarded`` (``@require()``, a bearer token) and
  ``GET /api/auth/whoami`` (the same, in the auth plugin) against
  ``GET /api/benchauth/open``, the same route body without ``require``, anonymous
  (``bench/authplugin.py``).
- **me**: ``GET /api/auth/me`` with a bearer token against the kernel's
  unauthenticated trivial route ``GET /health/live``.

The server (``python -m kernel serve``, one worker, ``LYO_ENV=test``, auth and benchauth
only, a fresh PostgreSQL database, Redis) is pinned to the first CPU and the load
generator (``bench/_load.py``, raw keep-alive HTTP/1.1, a process of its own) to the
second; PostgreSQL and Redis run unpinned. Each measurement also gives the server's CPU
time per request (``/proc``), the figure least moved by other work on the machine.
``--workers2`` then serves ``/me`` and ``/health/live`` from ``--workers 2`` (unpinned),
for the README's "requests per second per instance". From the repository root::

    pip install -e . -e plugins/auth
    python bench/auth.py                     # --quick: under a minute; --json PATH
"""

from __future__ import annotations

import os
import sys

if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    # run as ``python bench/auth.py``: bench/http.py would hide the stdlib's; the root instead
    sys.path[0] = os.path.dirname(sys.path[0])

import argparse
import asyncio
import json
import platform
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from bench._load import percentiles, server_cpu

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery staple 42"
#: limits far above what a benchmark reaches (the defaults would throttle it)
NO_LIMIT = "1000000/minute"
PACKAGES = ("argon2-cffi", "argon2-cffi-bindings", "pyjwt", "quart", "hypercorn",
            "tortoise-orm", "asyncpg", "redis", "limits")  # fmt: skip
Pin = Callable[[], None] | None


# -- the raw argon2 baseline -----------------------------------------------------------------


def argon2_loop(seconds: float) -> dict[str, Any]:
    """Verify in a loop on one thread for ``seconds``; per second, latency, CPU each."""
    from argon2 import PasswordHasher
    from lyo_auth.settings import AuthSettings

    s = AuthSettings()
    hasher = PasswordHasher(
        time_cost=s.argon2_time_cost,
        memory_cost=s.argon2_memory_cost,
        parallelism=s.argon2_parallelism,
    )
    hashed = hasher.hash(PASSWORD)
    for _ in range(3):
        hasher.verify(hashed, PASSWORD)
    durations: list[float] = []
    cpu, begun = time.process_time(), time.perf_counter()
    deadline = begun + seconds
    while (started := time.perf_counter()) < deadline:
        hasher.verify(hashed, PASSWORD)
        durations.append(time.perf_counter() - started)
    elapsed, cpu = time.perf_counter() - begun, time.process_time() - cpu
    params = {"m_kib": s.argon2_memory_cost, "t": s.argon2_time_cost, "p": s.argon2_parallelism}
    return {"rps": len(durations) / elapsed, **percentiles(durations),
            "requests": len(durations), "cpu_ms": round(cpu * 1000 / len(durations), 3),
            "params": params}  # fmt: skip


def raw_argon2(seconds: float, pin: Pin) -> dict[str, Any]:
    """:func:`argon2_loop` in a process of its own on ``pin``'s CPU."""
    cmd = [sys.executable, __file__, "--argon2", str(seconds)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, preexec_fn=pin)
    if out.returncode != 0:
        raise SystemExit(f"the argon2 loop failed:\n{out.stderr}")
    return json.loads(out.stdout)  # type: ignore[no-any-return]


# -- the token check alone, in-process -------------------------------------------------------


async def token_check(email: str, seconds: float) -> dict[str, Any]:
    """CPU microseconds of ``kernel.authenticate`` for a bearer token, in a kernel built
    from the environment (the server's): a token this process verified (the in-process
    cache) and one it has not (signature, then one ``MGET``)."""
    from lyo_auth.services import services

    from kernel import Credentials, create_app

    app = create_app()
    async with app.test_app():
        app.kernel.activate()
        answer = await app.test_client().post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}
        )
        token = (await answer.get_json())["access_token"]
        credentials = Credentials(token=token)
        verified = services().verified
        jti = (await app.kernel.authenticate(credentials)).claims["jti"]
        found = {}
        for name, forget in (("cached", False), ("verified", True)):
            calls, cpu = 0, time.process_time()
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                if forget:
                    verified.forget(jtis=[jti])
                await app.kernel.authenticate(credentials)
                calls += 1
            found[name] = round((time.process_time() - cpu) * 1e6 / calls, 1)
    return found


def token_check_process(url: str, email: str, seconds: float, pin: Pin) -> dict[str, Any]:
    """:func:`token_check` in a process of its own on ``pin``'s CPU."""
    cmd = [sys.executable, __file__, "--token-check", email, "--argon2", str(seconds)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, preexec_fn=pin,
                         env=server_env(url))  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"the token check failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- the server ------------------------------------------------------------------------------


@contextmanager
def database() -> Iterator[str]:
    """A fresh PostgreSQL database (``kernel.testing.temporary_database``), dropped after."""
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


def server_env(url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LYO_")},
        "LYO_ENV": "test",
        "LYO_DATABASE_URL": url,
        "LYO_REDIS_URL": REDIS_URL,
        "LYO_REDIS_PREFIX": f"bench-auth-{uuid.uuid4().hex[:10]}",
        "LYO_SECRET_KEY": "bench-auth-" + "k" * 40,
        "LYO_ACCESS_LOG": "false",
        "LYO_LOG_LEVEL": "WARNING",
        "LYO_PLUGINS__ENABLED": "auth,benchauth",
        "LYO_PLUGINS__REQUIRED": "auth,benchauth",
        "LYO_PLUGINS__MODULES": "bench.authplugin",
        "LYO_AUTH__LOGIN_ACCOUNT_LIMIT": NO_LIMIT,
        "LYO_AUTH__LOGIN_ACCOUNT_CEILING": NO_LIMIT,
        "LYO_AUTH__LOGIN_IP_LIMIT": NO_LIMIT,
        "LYO_AUTH__REGISTER_LIMIT": NO_LIMIT,
    }


@contextmanager
def server(url: str, env: dict[str, str], workers: int, pin: Pin) -> Iterator[tuple[str, int]]:
    """``python -m kernel serve`` on a free port; its base URL and process id."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "kernel", "serve", "--port", str(port), "--workers",
           str(workers)]  # fmt: skip
    if workers > 1:
        env = {**env, "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="lyo-bench-prom-")}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log, preexec_fn=pin)
        try:
            wait_ready(base, proc)
            yield base, proc.pid
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


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


# -- load ----------------------------------------------------------------------------------


def load(url: str, seconds: float, connections: int, pin: Pin, *, token: str | None = None,
         bodies: str | None = None) -> dict[str, Any]:  # fmt: skip
    """``bench/_load.py`` against ``url`` in a process of its own on ``pin``'s CPU."""
    cmd = [sys.executable, "-m", "bench._load", url, "--seconds", str(seconds),
           "--connections", str(connections)]  # fmt: skip
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    if bodies:
        cmd += ["--method", "POST", "--bodies", bodies]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, preexec_fn=pin)
    if out.returncode != 0:
        raise SystemExit(f"the load generator failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout)
    if result["errors"]:
        print(f"  warning: {url}: {result['errors']} answers not 2xx", file=sys.stderr)
    return result


def measured(pid: int, url: str, args: argparse.Namespace, connections: int, pin: Pin,
             **options: Any) -> dict[str, Any]:  # fmt: skip
    """A warm-up, then a measurement with the server's CPU time per request."""
    load(url, args.warmup, connections, pin, **options)
    cpu = server_cpu(pid)
    result = load(url, args.duration, connections, pin, **options)
    result["cpu_ms"] = round((server_cpu(pid) - cpu) * 1000 / result["requests"], 3)
    return result


# -- the run -----------------------------------------------------------------------------------

#: (name, path, needs a token), the reads of each round, in order
READS = [("open", "/api/benchauth/open", False), ("guarded", "/api/benchauth/guarded", True),
         ("whoami", "/api/auth/whoami", True), ("live", "/health/live", False),
         ("me", "/api/auth/me", True)]  # fmt: skip
#: ratio name -> (measurement, its baseline)
RATIOS = {
    "login1_vs_verify": ("login/1", "argon2"),
    "login4_vs_verify": ("login/4", "argon2"),
    "guarded_vs_open": ("guarded", "open"),
    "whoami_vs_open": ("whoami", "open"),
    "me_vs_live": ("me", "live"),
}


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


def one_round(base: str, pid: int, bodies: str, token: str, args: argparse.Namespace,
              server_pin: Pin, load_pin: Pin) -> dict[str, Any]:  # fmt: skip
    """Raw argon2 around login at 1 and at 4 connections, then the reads in turn (``--cycles``
    cycles of ``--slice`` seconds each, one process of the load generator); each read's
    median cycle, and each ratio's median over the cycles (consecutive slices)."""
    # raw argon2 before, between and after the two login measurements: each is compared
    # with the mean of the two runs beside it, so a change of load during the round
    # moves the baseline with it (the table shows the median run)
    raws = [raw_argon2(args.argon2_seconds, server_pin)]
    got: dict[str, Any] = {}
    for n in (1, args.login_connections):
        got[f"login/{n}"] = measured(pid, f"{base}/api/auth/login", args, n, load_pin,
                                     bodies=bodies)  # fmt: skip
        raws.append(raw_argon2(args.argon2_seconds, server_pin))
    got["argon2"] = {**median_by_rps(raws), "runs": raws}
    beside = {"login/1": raws[0:2], f"login/{args.login_connections}": raws[1:3]}
    spec = {"targets": {name: base + path for name, path, _ in READS},
            "headers": {name: [f"Authorization: Bearer {token}"] if auth else []
                        for name, _, auth in READS},
            "slice": args.slice, "cycles": args.cycles, "pid": pid}  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(spec, file)
        file.flush()
        cmd = [sys.executable, "-m", "bench._load", "--alternate", file.name, "-",
               "--connections", str(args.connections)]  # fmt: skip
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, preexec_fn=load_pin)
    if out.returncode != 0:
        raise SystemExit(f"the load generator failed:\n{out.stderr}")
    cycles: dict[str, list[dict[str, Any]]] = json.loads(out.stdout)
    for name, runs in cycles.items():
        got[name] = {**median_by_rps(runs), "cpu_ms": statistics.median(r["cpu_ms"] for r in runs),
                     "cycles": [round(r["rps"], 1) for r in runs]}  # fmt: skip
    for ratio, (mine, baseline) in RATIOS.items():
        if baseline == "argon2":
            mine = mine if mine == "login/1" else f"login/{args.login_connections}"
            runs = beside[mine]
            got[ratio] = got[mine]["rps"] / statistics.mean(r["rps"] for r in runs)
            got[ratio + "_cpu"] = statistics.mean(r["cpu_ms"] for r in runs) / got[mine]["cpu_ms"]
            continue
        pairs = list(zip(cycles[mine], cycles[baseline], strict=True))
        got[ratio] = statistics.median(m["rps"] / b["rps"] for m, b in pairs)
        got[ratio + "_cpu"] = statistics.median(b["cpu_ms"] / m["cpu_ms"] for m, b in pairs)
    print("  " + ", ".join(f"{k} {got[k]['rps']:.0f}/s" for k in ("argon2", "login/1",
          f"login/{args.login_connections}", *(r[0] for r in READS))), file=sys.stderr)  # fmt: skip
    return got


def median_by_rps(items: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(items, key=lambda x: x["rps"])
    return ordered[(len(ordered) - 1) // 2]


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run of each measurement, and the median of the paired ratios."""
    names = [k for k in rounds[0] if isinstance(rounds[0][k], dict)]
    ratios = [k for k in rounds[0] if not isinstance(rounds[0][k], dict)]
    return {
        **{k: median_by_rps([r[k] for r in rounds]) for k in names},
        **{k: round(statistics.median(r[k] for r in rounds), 3) for k in ratios},
        "each_round": {k: [round(r[k], 3) for r in rounds] for k in ratios},
    }


def seed_claim(url: str, token: str, args: argparse.Namespace, load_pin: Pin) -> dict[str, Any]:
    """``/me`` and ``/health/live`` from one process and from ``--workers 2`` (unpinned:
    the two workers share the machine's CPUs with the load generator, PostgreSQL and
    Redis), each once after a warm-up."""
    found: dict[str, Any] = {}
    for workers in (1, 2):
        with server(url, server_env(url), workers, None) as (base, pid):
            for name, path in (("live", "/health/live"), ("me", "/api/auth/me")):
                key = f"{name}/workers={workers}"
                found[key] = measured(pid, base + path, args, args.connections, None,
                                      token=token if name == "me" else None)  # fmt: skip
                print(f"  {key}: {found[key]['rps']:.0f} req/s, p50 "
                      f"{found[key]['p50_ms']:.1f} ms, p99 {found[key]['p99_ms']:.1f} ms",
                      file=sys.stderr)  # fmt: skip
    return found


def measure(args: argparse.Namespace) -> dict[str, Any]:
    server_pin, load_pin, pinned = pins(args.no_pin)
    load_before = [round(x, 2) for x in os.getloadavg()]
    with database() as url, tempfile.TemporaryDirectory() as folder:
        env = server_env(url)
        with server(url, env, 1, server_pin) as (base, pid):
            started = time.perf_counter()
            emails = asyncio.run(register_users(base, args.users))
            print(f"registered {len(emails)} accounts in "
                  f"{time.perf_counter() - started:.1f} s", file=sys.stderr)  # fmt: skip
            status, pair = request(f"{base}/api/auth/login",
                                   {"email": emails[0], "password": PASSWORD})  # fmt: skip
            if status != 200:
                raise SystemExit(f"login answered {status}: {pair}")
            token = pair["access_token"]
            for path in ("/api/auth/me", "/api/auth/whoami", "/api/benchauth/guarded"):
                status, body = request(base + path, token=token)
                if status != 200 or not body.get("id"):
                    raise SystemExit(f"GET {path} answered {status}: {body}")
            bodies = os.path.join(folder, "logins.json")
            with open(bodies, "w") as out:
                json.dump([{"email": e, "password": PASSWORD} for e in emails], out)
            rounds = [one_round(base, pid, bodies, token, args, server_pin, load_pin)
                      for _ in range(args.repeat)]  # fmt: skip
        check = token_check_process(url, emails[0], args.argon2_seconds, server_pin)
        print(f"token check, in-process CPU per call: {check['cached']} us for a token this "
              f"process verified, {check['verified']} us for one it had not",
              file=sys.stderr)  # fmt: skip
        print_table({"results": summarize(rounds), "settings": vars(args)})
        seed = None
        if args.workers2:
            try:
                seed = seed_claim(url, token, args, load_pin)
            except SystemExit as failed:  # keep the rounds' figures
                seed = {"error": str(failed)}
    return {
        "settings": {
            "users": args.users, "duration_s": args.duration, "warmup_s": args.warmup,
            "argon2_seconds": args.argon2_seconds, "connections": args.connections,
            "login_connections": args.login_connections, "repeat": args.repeat,
            "pinned": pinned, "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "machine": {
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "platform": platform.platform(), "cpu": cpu_model(),
            "packages": {p: _version(p) for p in PACKAGES},
        },
        "results": summarize(rounds),
        "token_check_us": check,
        "seed_claim": seed,
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
    print("\n{:<36} {:>8} {:>8} {:>8} {:>9} {:>7} {:>7}".format(
        "measurement", "per s", "p50 ms", "p99 ms", "CPU ms", "ratio", "CPU r."))  # fmt: skip
    login = f"login/{report['settings']['login_connections']}"
    rows = [
        ("argon2 verify, 1 thread (baseline)", "argon2", None),
        ("POST /api/auth/login, 1 connection", "login/1", "login1_vs_verify"),
        (f"POST /api/auth/login, {login[6:]} connections", login, "login4_vs_verify"),
        ("GET /api/benchauth/open (baseline)", "open", None),
        ("GET /api/benchauth/guarded (Bearer)", "guarded", "guarded_vs_open"),
        ("GET /api/auth/whoami (Bearer)", "whoami", "whoami_vs_open"),
        ("GET /health/live (baseline)", "live", None),
        ("GET /api/auth/me (Bearer)", "me", "me_vs_live"),
    ]
    for name, key, ratio in rows:
        m = r[key]
        cells = ("-", "-") if ratio is None else (f"{r[ratio]:.2f}", f"{r[ratio + '_cpu']:.2f}")
        print(f"{name:<36} {m['rps']:>8.1f} {m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f} "
              f"{m['cpu_ms']:>9.3f} {cells[0]:>7} {cells[1]:>7}")  # fmt: skip
    print("ratio: requests/s against the baseline; CPU r.: the baseline's CPU per request "
          "over this one's (the server's, or the argon2 loop's)")  # fmt: skip
    for key, runs in r["each_round"].items():
        print(f"{key}: {r[key]:.3f} (each round: {', '.join(f'{x:.3f}' for x in runs)})")
    if "token_check_us" in report:
        check = report["token_check_us"]
        share = check["cached"] / 1000 / r["open"]["cpu_ms"]
        print(
            f"token check alone (in-process, CPU per call): {check['cached']} us cached "
            f"({share:.1%} of the open route's server CPU), {check['verified']} us verified"
        )
    for key, m in (report.get("seed_claim") or {}).items():
        if key == "error":
            print(f"seed claim: failed: {m}")
            continue
        print(f"seed claim, {key}: {m['rps']:.0f} req/s, p50 {m['p50_ms']:.1f} ms, "
              f"p99 {m['p99_ms']:.1f} ms, server CPU {m['cpu_ms']:.3f} ms/request")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round (under a minute)")
    parser.add_argument("--duration", type=float, default=6, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds of warm-up each")
    parser.add_argument("--argon2-seconds", type=float, default=4, help="raw argon2, per round")
    parser.add_argument("--connections", type=int, default=16, help="for the reads")
    parser.add_argument("--slice", type=float, default=1.5, help="seconds per read, per cycle")
    parser.add_argument("--cycles", type=int, default=5, help="cycles of the reads per round")
    parser.add_argument("--login-connections", type=int, default=4)
    parser.add_argument("--users", type=int, default=50, help="accounts the logins rotate over")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians kept")
    parser.add_argument(
        "--workers2",
        action="store_true",
        help="also /me and /health/live from one and from two worker processes",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument("--argon2", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--token-check", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.token_check:
        print(json.dumps(asyncio.run(token_check(args.token_check, args.argon2))))
        return
    if args.argon2:
        print(json.dumps(argon2_loop(args.argon2)))
        return
    if args.quick:
        args.duration, args.warmup, args.argon2_seconds, args.cycles = 3, 1, 2, 2
        args.repeat, args.users = 1, min(args.users, 16)
    report = measure(args)
    print_table(report)  # again, with the seed claim
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)


if __name__ == "__main__":
    main()

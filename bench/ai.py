"""Benchmark of the ai plugin's generation path against raw ``model.generate``.

    LYO_AI__CACHE_DIR=var/ai python bench/ai.py [--tokens 64] [--repeats 3] [--cold]

Same model, prompt and settings in one run, interleaved repeats, medians:

- raw: ``model.generate`` on the outline prompt, greedy, with the plugin's repetition
  controls, ``max_new_tokens`` tokens, no stop string;
- task path: :class:`lyo_ai.model.TorchGenerator` on the same prompt (its per-token
  watcher decodes the value, checks stop strings and cancellation, reports progress);
- the ratio task/raw of generated tokens per second (the target is >= 0.9);
- a whole course (3 lessons) through ``compose``: tokens/s and time to the first token;
- start-up: loading the converted model from the cache, and (``--cold``) converting
  the GGUF again into a fresh cache directory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# bench/http.py would shadow the standard library's http package that urllib imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from lyo_ai.generation import CourseRequest, Prompts, compose  # noqa: E402
from lyo_ai.model import TorchGenerator, load  # noqa: E402
from lyo_ai.settings import AiSettings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also time a GGUF conversion")
    args = parser.parse_args()
    settings = AiSettings(
        cache_dir=Path(os.environ.get("LYO_AI__CACHE_DIR", "var/ai")),
        threads=int(os.environ.get("LYO_AI__THREADS", "0")),
    )
    import torch

    print(f"load average: {os.getloadavg()}, torch threads: {torch.get_num_threads()}")
    started = time.perf_counter()
    loaded = load(settings)
    kind = "from cache" if loaded.from_cache else "converted from GGUF"
    print(
        f"load ({kind}): {time.perf_counter() - started:.1f} s, {loaded.dtype} on {loaded.device}"
    )
    if args.cold:
        with tempfile.TemporaryDirectory() as fresh:
            started = time.perf_counter()
            load(settings.model_copy(update={"cache_dir": Path(fresh)}))
            print(f"cold load (GGUF conversion): {time.perf_counter() - started:.1f} s")

    generator = TorchGenerator(loaded, settings)
    generator.reuse_cache = False  # every repeat encodes the prompt afresh, as raw does
    model, tokenizer = loaded.model, loaded.tokenizer
    prompt = Prompts("completion", CourseRequest("Volcanoes", "beginner", 3)).outline_header()
    ids = tokenizer(prompt, return_tensors="pt").input_ids.to(model.device)

    def raw() -> float:
        started = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=args.tokens,
                min_new_tokens=args.tokens,
                do_sample=False,
                repetition_penalty=settings.repetition_penalty,
                no_repeat_ngram_size=settings.no_repeat_ngram_size,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        return (out.shape[1] - ids.shape[1]) / (time.perf_counter() - started)

    def task_path() -> float:
        started = time.perf_counter()
        result = generator.complete(
            prompt,
            stop=("\0never",),
            max_new_tokens=args.tokens,
            on_text=lambda text, tokens: None,
            should_stop=lambda: False,
        )
        return result.tokens / (time.perf_counter() - started)

    raw()  # warm-up
    raws, tasks = [], []
    for _ in range(args.repeats):
        raws.append(raw())
        tasks.append(task_path())
    r, t = statistics.median(raws), statistics.median(tasks)
    print(f"raw model.generate: {r:.1f} tok/s   task path: {t:.1f} tok/s   ratio {t / r:.2f}")

    generator.reuse_cache = True
    first: list[float] = []
    started = time.perf_counter()
    draft = compose(
        generator,
        CourseRequest("Volcanoes", "beginner", 3),
        report=lambda step: (
            first.append(time.perf_counter()) if step.tokens and not first else None
        ),
    )
    seconds = time.perf_counter() - started
    print(
        f"whole course (3 lessons): {draft.tokens} tokens in {seconds:.1f} s = "
        f"{draft.tokens / seconds:.1f} tok/s; first token after {first[0] - started:.2f} s"
    )
    print(f"  {draft.title!r}: " + " | ".join(lesson["title"] for lesson in draft.lessons))


if __name__ == "__main__":
    main()

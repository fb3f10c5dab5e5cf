"""Quality evaluation of generated courses (not a test): the configured model writes a
course for each of a fixed list of topics (``lyo_ai.evaluation.TOPICS``), and each is
scored by ``lyo_ai.quality``'s checks; prints each course's verdict, each check's pass
rate and the share passing every check, with the model, dtype and seed.

    LYO_AI__CACHE_DIR=~/.cache/lyo-ai-test LYO_AI__THREADS=1 \\
        python bench/ai_quality.py [--topics 21] [--lessons 2] [--seed 0] [--save out.json]
    python bench/ai_quality.py --rescore out.json   # today's checks on saved courses

``LYO_AI__MODEL`` and the other ``LYO_AI__*`` settings apply (``lyo ai eval`` does the
same with the configured kernel settings). The figures are kept in plugins/ai/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# bench/http.py would shadow the standard library's http package that urllib imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from lyo_ai.evaluation import TOPICS, evaluate, rescore  # noqa: E402
from lyo_ai.settings import AiSettings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--topics", type=int, default=len(TOPICS), help="how many topics (from --start)"
    )
    parser.add_argument("--start", type=int, default=0, help="skip the first N topics")
    parser.add_argument("--lessons", type=int, default=2, help="lessons per course")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path, help="write the courses and verdicts as JSON")
    parser.add_argument(
        "--rescore", type=Path, help="score the courses of an earlier --save again; no model"
    )
    args = parser.parse_args()
    if args.rescore:
        rescore(args.rescore)
        return
    prefix = "LYO_AI__"
    settings = AiSettings.model_validate(
        {k[len(prefix) :].lower(): v for k, v in os.environ.items() if k.startswith(prefix)}
    )
    if settings.threads:
        import torch

        torch.set_num_threads(settings.threads)
    evaluate(
        settings,
        topics=args.topics,
        start=args.start,
        lessons=args.lessons,
        seed=args.seed,
        save=args.save,
    )


if __name__ == "__main__":
    main()

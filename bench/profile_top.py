"""Summarise py-spy's collapsed stacks: where a worker spent its samples.

``python -m bench.profile_top FILE [--focus SUBSTRING] [--top N]`` prints the
functions with the most inclusive samples (a frame counted once per stack),
optionally only for stacks that pass through SUBSTRING.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# py-spy frames look like "function (path/to/module.py:123)"; drop the line number.
LINE = re.compile(r":\d+\)$")


def inclusive(path: Path, focus: str | None) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        frames = [LINE.sub(")", f) for f in stack.split(";")]
        if focus and not any(focus in f for f in frames):
            continue
        samples = int(number)
        total += samples
        for frame in set(frames):
            counts[frame] += samples
    return counts, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--focus")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    counts, total = inclusive(args.file, args.focus)
    print(f"{total} samples" + (f" through {args.focus!r}" if args.focus else ""))
    for frame, samples in counts.most_common(args.top):
        print(f"{100 * samples / max(total, 1):5.1f}%  {frame}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

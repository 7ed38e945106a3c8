"""Cold against warm ``cachelint check``: what the result cache saves on a real codebase.

Each round uses a fresh, empty ``--cache-dir``: the first run fills it (cold), the second
reads it (warm), and a third runs with ``--no-cache``; medians of ``--repeat`` rounds.
Printed with the times, the checks that the warm run really re-analysed nothing:

* the cold run leaves one cache entry per linted file;
* the warm run leaves the cache directory exactly as it was: same entries, same inodes,
  same mtimes (cachelint writes an entry for every file it analyses, through a
  temporary file and a rename, so any re-analysed file would show up);
* cold, warm and --no-cache runs print the same findings.

    python benchmarks/bench_cache.py [--path DIR] [--repeat N] [--jobs N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench_lint import (
    Timing,
    add_tree_arguments,
    cachelint_command,
    print_table,
    run_command,
    start,
)

Snapshot = dict[str, tuple[int, int, int]]


def snapshot(directory: Path) -> Snapshot:
    """Every file and folder under ``directory``: (inode, mtime in ns, size)."""
    found: Snapshot = {}
    for path in directory.rglob("*"):
        stat = path.stat()
        found[str(path.relative_to(directory))] = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    return found


def entries(found: Snapshot) -> int:
    return sum(1 for name in found if name.endswith(".json"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_tree_arguments(parser)
    parser.add_argument("--jobs", type=int,
                        help="cachelint check --jobs (default: cachelint's automatic choice)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sources = start(args, ["cachelint", "libcst"])
    tree, total = sources.tree, len(sources.files)
    jobs = [] if args.jobs is None else ["--jobs", str(args.jobs)]
    print(f"repeat: {args.repeat}, median shown; cachelint check "
          f"{'with its default jobs' if args.jobs is None else f'--jobs {args.jobs}'}; "
          "a fresh --cache-dir each round")
    print()

    check = [*cachelint_command(), "check", *jobs]
    cold = Timing("cold: empty --cache-dir")
    warm = Timing("warm: same --cache-dir again")
    uncached = Timing("--no-cache")
    problems: list[str] = []
    for round_ in range(args.repeat):
        print(f"  round {round_ + 1}/{args.repeat} ...", file=sys.stderr)
        cache_dir = Path(tempfile.mkdtemp(prefix="cachelint-bench-cache-"))
        try:
            command = [*check, "--cache-dir", str(cache_dir), str(tree)]
            cold_output = run_command(cold, command, cwd=tree)
            after_cold = snapshot(cache_dir)
            warm_output = run_command(warm, command, cwd=tree)
            after_warm = snapshot(cache_dir)
        finally:
            shutil.rmtree(cache_dir, ignore_errors=True)
        uncached_output = run_command(uncached, [*check, "--no-cache", str(tree)], cwd=tree)
        if entries(after_cold) != total:
            problems.append(f"round {round_ + 1}: the cold run left {entries(after_cold)} "
                            f"cache entries for {total} files")
        if after_warm != after_cold:
            added = [n for n in after_warm.keys() - after_cold.keys() if n.endswith(".json")]
            rewritten = [n for n in after_cold.keys() & after_warm.keys()
                         if n.endswith(".json") and after_cold[n] != after_warm[n]]
            problems.append(
                f"round {round_ + 1}: the warm run re-analysed files: it wrote {len(added)} "
                f"new cache entries and rewrote {len(rewritten)} ({entries(after_warm)} "
                f"entries now, for {total} files)"
                + ("; every lookup missed, so the cache key differs between runs"
                   if len(added) == total else "")
            )
        if not cold_output == warm_output == uncached_output:
            problems.append(f"round {round_ + 1}: cold, warm and --no-cache findings differ")

    print_table([cold, warm, uncached], total)
    print()
    print(f"warm / cold:       {warm.wall / cold.wall:6.2f}   "
          f"[cpu {warm.cpu / cold.cpu:.2f}]")
    print(f"warm / --no-cache: {warm.wall / uncached.wall:6.2f}   "
          f"[cpu {warm.cpu / uncached.cpu:.2f}]")
    print(f"cold / --no-cache: {cold.wall / uncached.wall:6.2f}   "
          f"(what writing the cache costs) [cpu {cold.cpu / uncached.cpu:.2f}]")
    print()
    if problems:
        print("cache checks FAILED:")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(f"cache checks, every round: the cold run left {total} entries for {total} files; "
          "the warm run\n  left the cache directory untouched (same entries, inodes and mtimes: "
          "nothing re-analysed);\n  cold, warm and --no-cache printed the same "
          f"{cold.findings} finding(s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How fast cachelint lints a real codebase, next to what users already run.

Measured on one tree (by default Django's ``django/`` package, 885 files, taken from
its source distribution and kept in ``benchmarks/.corpus/``; ``--path DIR`` for any
other tree), each timed item repeated ``--repeat`` times, median shown:

  (a) flake8 --isolated --select CL    (subprocess, ``--jobs``, default flake8's auto)
  (b) flake8 --isolated --select B     (same files, same ``--jobs``)
  (c) libcst.parse_module of every file (in-process, one core)
  (d) ast.parse of every file           (in-process, one core)
  (e) cachelint check --no-cache        (subprocess, cachelint's default jobs)

then the ratios CL/B (target <= 1.5) and cachelint check / B (target < 1.0), and how
many files pass cachelint's cheap pre-check (``engine.might_have_findings``).

    python benchmarks/bench_lint.py [--path DIR] [--repeat N] [--jobs N|auto]
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import importlib.metadata
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import libcst

import cachelint
from cachelint import config as config_module
from cachelint.config import Config
from cachelint.engine import SourceError, decode, might_have_findings
from cachelint.project import discover

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE / ".corpus"
DJANGO_VERSION = "5.2.*"
FINDING = re.compile(r"^.+:\d+:\d+: [A-Z]+\d+ ", re.MULTILINE)
FLAKE8_FILES = re.compile(r"^(\d+)\s+total files processed", re.MULTILINE)
T = TypeVar("T")


# --- the corpus -------------------------------------------------------------------------


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


def _unpacked_django(corpus: Path, version: str) -> Path | None:
    """The newest ``django-X.Y.Z/django`` already unpacked in ``corpus`` matching ``version``."""
    found = []
    for directory in corpus.glob("[Dd]jango-*"):
        release = directory.name.split("-", 1)[1]
        if (directory / "django").is_dir() and fnmatch.fnmatch(release, version):
            found.append((_version_key(release), directory / "django"))
    return max(found)[1] if found else None


def fetch_django(corpus: Path, version: str = DJANGO_VERSION) -> Path:
    """Django's ``django/`` source tree, downloaded (sdist, no wheels) once into ``corpus``."""
    tree = _unpacked_django(corpus, version)
    if tree is not None:
        return tree
    corpus.mkdir(parents=True, exist_ok=True)
    print(f"fetching the Django {version} source distribution into {corpus} ...",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=corpus) as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:",
             "--no-deps", f"django=={version}", "--dest", scratch],
            check=True,
        )
        for archive in Path(scratch).glob("*.tar.gz"):
            unpacked = Path(scratch) / "unpacked"
            with tarfile.open(archive) as tar:
                if hasattr(tarfile, "data_filter"):  # Python 3.11.4+, 3.10.12+
                    tar.extractall(unpacked, filter="data")
                else:
                    tar.extractall(unpacked)  # a source distribution we asked for
            for top in unpacked.iterdir():  # moved only once complete
                if not (corpus / top.name).exists():
                    top.rename(corpus / top.name)
            shutil.copy2(archive, corpus / archive.name)
    tree = _unpacked_django(corpus, version)
    if tree is None:
        raise SystemExit(f"no django-{version} tree found in {corpus} after downloading")
    return tree


def resolve_tree(args: argparse.Namespace) -> Path:
    if args.path is not None:
        if not args.path.is_dir():
            raise SystemExit(f"--path {args.path}: not a directory")
        return args.path.resolve()
    return fetch_django(args.corpus_dir, args.django_version)


@dataclass
class Sources:
    """The files cachelint would lint under a tree, decoded once, outside any timing."""

    tree: Path
    config: Config
    files: list[Path]
    texts: list[str]
    unreadable: int


def load_sources(tree: Path) -> Sources:
    config = config_module.discover([tree])
    files, _ = discover([tree], config)
    texts: list[str] = []
    unreadable = 0
    for path in files:
        try:
            texts.append(decode(path.read_bytes())[0])
        except (OSError, SourceError):
            unreadable += 1
    return Sources(tree, config, files, texts, unreadable)


# --- timing -----------------------------------------------------------------------------


@dataclass
class Timing:
    label: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    findings: int | None = None
    files: int | None = None
    returncodes: set[int] = field(default_factory=set)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


def cachelint_command() -> list[str]:
    script = Path(sys.executable).with_name("cachelint")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cachelint.cli"]


def run_command(timing: Timing, command: Sequence[str], cwd: Path) -> str:
    """Run once, adding wall and CPU seconds (the command and all its workers) to ``timing``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True)
    timing.walls.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    timing.cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    timing.returncodes.add(done.returncode)
    if done.returncode not in (0, 1):
        print(f"warning: {' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}",
              file=sys.stderr)
    timing.findings = len(FINDING.findall(done.stdout))
    return done.stdout


def run_in_process(timing: Timing, function: Callable[[], T]) -> T:
    start, cpu = time.perf_counter(), time.process_time()
    result = function()
    timing.walls.append(time.perf_counter() - start)
    timing.cpus.append(time.process_time() - cpu)
    return result


def parse_all(parse: Callable[[str], object], texts: list[str]) -> Callable[[], int]:
    """A callable parsing every text; it returns how many failed (syntax, nesting)."""

    def run() -> int:
        failures = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning: invalid escapes and the like
            for text in texts:
                try:
                    parse(text)
                except (SyntaxError, RecursionError, libcst.ParserSyntaxError, ValueError):
                    failures += 1
        return failures

    return run


# --- reporting --------------------------------------------------------------------------


def machine_summary() -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (f"machine: {usable} usable cores (os.cpu_count() = {cores}), {model}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}; "
            f"load average {load}")


def versions_summary(names: Sequence[str]) -> str:
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return "versions: " + ", ".join(found)


def print_header(sources: Sources, packages: Sequence[str]) -> None:
    print(machine_summary())
    print(versions_summary(packages))
    print(f"cachelint imported from {Path(cachelint.__file__).parent}")
    undecodable = f", {sources.unreadable} undecodable" if sources.unreadable else ""
    print(f"tree: {sources.tree} ({len(sources.files)} files{undecodable})")


def print_table(timings: Sequence[Timing], files: int) -> None:
    print(f"{'':42} {'wall s':>8} {'files/s':>9} {'cpu s':>8} {'findings':>9}")
    for timing in timings:
        findings = "-" if timing.findings is None else str(timing.findings)
        count = files if timing.files is None else timing.files
        print(f"{timing.label:42} {timing.wall:8.2f} {count / timing.wall:9.1f} "
              f"{timing.cpu:8.2f} {findings:>9}")


def ratio_line(name: str, value: float, target: str, met: bool) -> str:
    return f"  {name:34} {value:6.2f}   target {target}: {'met' if met else 'MISSED'}"


# --- main -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_tree_arguments(parser)
    parser.add_argument("--jobs", default="auto",
                        help="flake8 --jobs for runs (a) and (b) (default: auto)")
    return parser


def add_tree_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared with bench_cache.py: which tree, how many repetitions."""
    parser.add_argument("--path", type=Path,
                        help="lint this tree instead of Django's source (downloaded once)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each timed item; the median is shown (default: 3)")
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS,
                        help=f"where the Django sdist is kept (default: {DEFAULT_CORPUS})")
    parser.add_argument("--django-version", default=DJANGO_VERSION,
                        help=f"Django release pattern to fetch (default: {DJANGO_VERSION})")


def start(args: argparse.Namespace, packages: Sequence[str]) -> Sources:
    """What both benchmarks do first: check the options, find and read the tree, and
    print the machine, the versions of ``packages`` and the tree."""
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    sources = load_sources(resolve_tree(args))
    print_header(sources, packages)
    return sources


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sources = start(args, ["cachelint", "flake8", "flake8-bugbear", "pycodestyle", "pyflakes",
                           "libcst"])
    tree, total = sources.tree, len(sources.files)
    print(f"repeat: {args.repeat}, median shown; flake8 --jobs {args.jobs}; "
          f"cachelint check with its default jobs")
    print()

    flake8 = [sys.executable, "-m", "flake8", "--isolated", "--jobs", str(args.jobs),
              "--benchmark"]
    subprocesses = [
        (Timing("(a) flake8 --select CL"), [*flake8, "--select", "CL", str(tree)]),
        (Timing("(b) flake8 --select B (bugbear)"), [*flake8, "--select", "B", str(tree)]),
        (Timing("(e) cachelint check --no-cache"),
         [*cachelint_command(), "check", "--no-cache", str(tree)]),
    ]
    for round_ in range(args.repeat):  # interleaved, so drifting background load hits all
        for timing, command in subprocesses:
            print(f"  round {round_ + 1}/{args.repeat}: {timing.label} ...", file=sys.stderr)
            output = run_command(timing, command, cwd=tree)
            if command[:3] == flake8[:3]:
                counted = FLAKE8_FILES.search(output)
                timing.files = int(counted.group(1)) if counted else None
    flake8_cl, flake8_b, check = (timing for timing, _ in subprocesses)

    passing = [t for t in sources.texts if might_have_findings(t, sources.config)]
    cst_all = Timing("(c) libcst.parse_module, all files")
    cst_passing = Timing(f"    libcst.parse_module, {len(passing)} pre-checked")
    ast_all = Timing("(d) ast.parse, all files")
    precheck = Timing("    pre-check (might_have_findings)")
    failures = 0
    for round_ in range(args.repeat):
        print(f"  round {round_ + 1}/{args.repeat}: in-process parsing ...", file=sys.stderr)
        failures = run_in_process(cst_all, parse_all(libcst.parse_module, sources.texts))
        run_in_process(cst_passing, parse_all(libcst.parse_module, passing))
        run_in_process(ast_all, parse_all(ast.parse, sources.texts))
        run_in_process(precheck, lambda: [might_have_findings(t, sources.config)
                                          for t in sources.texts])
    cst_passing.files = len(passing)

    print_table([flake8_cl, flake8_b, cst_all, cst_passing, ast_all, precheck, check],
                len(sources.texts))
    for timing in (flake8_cl, flake8_b):
        if timing.files is not None and timing.files != total:
            print(f"note: {timing.label} checked {timing.files} files, cachelint found {total}")
    if failures:
        print(f"note: LibCST could not parse {failures} file(s)")
    if flake8_cl.findings != check.findings:
        print(f"note: flake8 reported {flake8_cl.findings} CL findings, "
              f"cachelint check {check.findings}")
    print()
    cl_over_b = flake8_cl.wall / flake8_b.wall
    check_over_b = check.wall / flake8_b.wall
    print("ratios (median wall time; cpu-time ratio in brackets, steadier on a busy machine):")
    print(ratio_line("flake8 --select CL / --select B", cl_over_b, "<= 1.5", cl_over_b <= 1.5)
          + f"   [cpu {flake8_cl.cpu / flake8_b.cpu:.2f}]")
    print(ratio_line("cachelint check / flake8 --select B", check_over_b, "< 1.0",
                     check_over_b < 1.0) + f"   [cpu {check.cpu / flake8_b.cpu:.2f}]")
    print(f"  cachelint's own cost inside flake8 (a - b): {flake8_cl.wall - flake8_b.wall:.2f} s")
    print(f"pre-check: {len(passing)} of {len(sources.texts)} files "
          f"({100 * len(passing) / max(len(sources.texts), 1):.0f}%) pass might_have_findings; "
          "only those are parsed with LibCST")
    print()
    print("notes: flake8 runs every installed plugin whatever --select says and only filters\n"
          "  what it reports, so (a) and (b) both pay for pycodestyle, pyflakes and bugbear.\n"
          "  cachelint's flake8 plugin returns at once when --select leaves out every CL\n"
          "  code, so (b) is bugbear plus flake8's defaults without cachelint's cost.\n"
          "  cpu s is user+system time of the command and its worker processes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The pre-commit hooks, run by the real ``pre-commit try-repo`` on a real git repository.

``try-repo`` clones a repository, builds a fresh virtualenv and pip-installs
cachelint into it, as pre-commit does for a user; each run takes some seconds.
It is pointed at a committed snapshot of this working tree rather than at the
checkout itself: on a dirty checkout try-repo folds tracked changes into a
temporary commit but leaves untracked files out, so a tracked module importing a
new, not yet added one would install broken.  The snapshot holds what the rest of
the suite tests: the files on disk that git does not ignore.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pre_commit.clientlib import load_manifest

from tests.helpers import RACY_VIEW, cli

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / ".pre-commit-hooks.yaml"

CLEAN = """\
from django.core.cache import cache
from cachelint.runtime import set_if_newer
from shop.models import Product


def product_detail(request, pk):
    product = Product.objects.get(pk=pk)
    set_if_newer(cache, f"product:{pk}", product.name, version=product.version, ttl=300)
"""
UNFIXABLE = """\
from django.core.cache import cache
from accounts.models import User


def user_profile(user_id):
    user = User.objects.get(pk=user_id)
    cache.set(f"user:{user_id}", user.profile_json())
"""


# Git without the machine's or the user's configuration, with an identity to commit.
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "cachelint tests",
    "GIT_AUTHOR_EMAIL": "tests@cachelint.invalid",
    "GIT_COMMITTER_NAME": "cachelint tests",
    "GIT_COMMITTER_EMAIL": "tests@cachelint.invalid",
}


def run(command: list[str], cwd: Path,
        env: dict[str, str] = GIT_ENV) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL, check=False)


def git(cwd: Path, *args: str) -> str:
    result = run(["git", *args], cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with one commit: this working tree's files that git does not ignore."""
    snapshot = tmp_path_factory.mktemp("cachelint-snapshot")
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # tracked files deleted in the working tree stay out
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    git(snapshot, "init", "--quiet")
    git(snapshot, "add", "--all")
    git(snapshot, "commit", "--quiet", "--no-gpg-sign", "-m", "snapshot")
    return snapshot


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "user-repo"
    repo.mkdir()
    git(repo, "init", "--quiet")
    return repo


def try_repo(hooks: Path, repo: Path, hook: str) -> subprocess.CompletedProcess[str]:
    """``pre-commit try-repo HOOKS_REPO HOOK --all-files`` in ``repo``, its files staged."""
    git(repo, "add", "--all")
    env = {**GIT_ENV, "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home")}
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), hook,
               "--all-files", "--color", "never"]
    return run(command, repo, env)


def fixed_in_process(source: str, directory: Path) -> str:
    """What ``cachelint check --fix`` of this working tree makes of ``source``."""
    directory.mkdir()
    (directory / "views.py").write_text(source)
    code, _, err = cli("check", "--no-cache", "--fix", str(directory / "views.py"))
    assert code == 0, err
    return (directory / "views.py").read_text()


def status(repo: Path) -> list[str]:
    """``git status`` of every file, ignored ones included."""
    return git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored").splitlines()


def test_the_manifest_passes_pre_commits_own_validation() -> None:
    hooks = {hook["id"]: hook for hook in load_manifest(str(MANIFEST))}

    assert sorted(hooks) == ["cachelint", "cachelint-fix"]
    assert hooks["cachelint"]["entry"] == "cachelint check --no-cache"
    assert hooks["cachelint-fix"]["entry"] == "cachelint check --no-cache --fix"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types"] == ["python"]
        assert hook["pass_filenames"] is True
        assert hook["require_serial"] is True


def test_the_manifest_is_committed_so_that_try_repo_can_clone_it() -> None:
    assert git(ROOT, "ls-files", MANIFEST.name).strip() == MANIFEST.name


def test_hook_fails_on_a_race_and_names_the_code(hooks_repo: Path, user_repo: Path) -> None:
    (user_repo / "views.py").write_text(RACY_VIEW)
    result = try_repo(hooks_repo, user_repo, "cachelint")

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "cachelint................" in output and "Failed" in output
    assert "views.py:8:5: CL101 blind `set()` on a refill path" in output
    assert (user_repo / "views.py").read_text() == RACY_VIEW  # this hook never writes
    assert status(user_repo) == ["A  views.py"]  # no cache left behind


def test_hook_passes_on_clean_code(hooks_repo: Path, user_repo: Path) -> None:
    (user_repo / "views.py").write_text(CLEAN)
    (user_repo / "notes.txt").write_text("cache.set(key, value)  # not Python: not linted\n")
    result = try_repo(hooks_repo, user_repo, "cachelint")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "cachelint................" in output and "Passed" in output


def test_fix_hook_rewrites_a_fixable_blind_refill(hooks_repo: Path, user_repo: Path) -> None:
    (user_repo / "views.py").write_text(RACY_VIEW)
    (user_repo / "profiles.py").write_text(UNFIXABLE)
    result = try_repo(hooks_repo, user_repo, "cachelint-fix")

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "files were modified by this hook" in output
    fixed = (user_repo / "views.py").read_text()
    assert "set_if_newer(cache, " in fixed and "cache.set(" not in fixed
    assert fixed == fixed_in_process(RACY_VIEW, user_repo.parent / "in-process")
    # What no fix can settle is still reported, and left as it was.
    assert "profiles.py:7:5: CL101" in output
    assert "views.py:8" not in output
    assert (user_repo / "profiles.py").read_text() == UNFIXABLE
    assert sorted(status(user_repo)) == ["A  profiles.py", "AM views.py"]

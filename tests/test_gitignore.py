"""Token files never get committed: git ignores where the README says to put them."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout"
)
@pytest.mark.parametrize(
    ("path", "ignored"),
    [(".env", True), (".env.production", True), ("secrets/bot_token", True),
     ("bot.token", True), (".env.example", False), ("bot/cli.py", False)],
)  # fmt: skip
def test_secret_files_are_ignored(path, ignored):
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT, check=False
    )
    assert (result.returncode == 0) == ignored

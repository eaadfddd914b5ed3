"""The layout of the README's architecture section, enforced by import-linter's contracts
(pyproject.toml, `[tool.importlinter]`): boto3 only in aws/, netmodel/ pure, the panel never
importing the sandbox, no app importing the API root back."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(*, cwd: Path, pythonpath: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env={"PYTHONPATH": pythonpath, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_hold():
    result = lint_imports(cwd=ROOT, pythonpath=str(ROOT))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("leak", "broken"),
    [
        ("from django.conf import settings\n", "netmodel is not allowed to import django"),
        ("import boto3\n", "netmodel is not allowed to import boto3"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(tmp_path, leak, broken):
    # The contracts are not vacuous: the same check fails on a copy of netmodel with the import added.
    shutil.copytree(ROOT / "netmodel", tmp_path / "netmodel")
    (tmp_path / "netmodel" / "leak.py").write_text(leak)
    result = lint_imports(cwd=tmp_path, pythonpath=f"{tmp_path}:{ROOT}")
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout

"""Packaging: the stdlib ``platform`` module survives the repository root on ``sys.path``,
and a normal (non-editable) install carries every ``jifen.*`` package and its data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "jifen.platform",
    "jifen.platform.auth",
    "jifen.platform.ledger",
    "jifen.tenants",
    "jifen.exchange",
    "jifen.settlement",
    "jifen.widgets",
    "jifen.migrations",
]
PACKAGE_DATA = [
    "jifen/platform/static/swagger-ui/swagger-ui-bundle.js",
    "jifen/migrations/script.py.mako",
    "jifen/migrations/versions/0001_foundation.py",
]


def run(args: list[str], *, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_stdlib_platform_works_with_the_repo_root_on_the_path():
    result = run([sys.executable, "-c", "import platform; print(platform.system())"], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {"Linux", "Darwin", "Windows"}


def test_python_m_pytest_runs_from_the_repo_root(tmp_path):
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import platform, uuid, flask\n\n"
        "def test_probe():\n"
        "    assert platform.system() and uuid.uuid4() and flask.Flask\n"
    )
    result = run(
        [sys.executable, "-m", "pytest", str(probe), "-q", "-p", "no:cacheprovider"], cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.mark.slow
def test_a_normal_install_imports_every_package_and_ships_its_data(tmp_path):
    target = tmp_path / "site"
    build = run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(ROOT),
        ],
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    for relative in PACKAGE_DATA:
        assert (target / relative).is_file(), f"{relative} is not installed"
    assert not (target / "platform").exists(), "a top-level 'platform' package was installed"

    probe = (
        "import importlib, json, platform\n"
        f"names = {PACKAGES!r}\n"
        "files = {n: importlib.import_module(n).__file__ or list(importlib.import_module(n)"
        ".__path__)[0] for n in names}\n"
        "print(json.dumps({'system': platform.system(), 'files': files}))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]]),
    }
    env.pop("PYTHONHOME", None)
    # -S: skip site, so the editable install's finder cannot answer for ``jifen``.
    result = run([sys.executable, "-S", "-c", probe], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["system"]
    for name, file in report["files"].items():
        assert Path(file).resolve().is_relative_to(target.resolve()), (name, file)

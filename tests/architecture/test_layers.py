"""The layers hold: every import-linter contract in pyproject.toml is checked and kept,
and an upward import from the base breaks the base's
contract (the how-to in docs/architecture.md shows the same run)."""

from __future__ import annotations

import re
import tomllib
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_lint_script():
    loader = SourceFileLoader("lint_imports", str(ROOT / "scripts" / "lint-imports"))
    module = module_from_spec(spec_from_loader("lint_imports", loader))
    loader.exec_module(module)
    return module


lint = load_lint_script()


def contracts() -> dict[str, dict]:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c for c in settings["tool"]["importlinter"]["contracts"]}


def outcomes(stdout: str) -> dict[str, str]:
    """Contract name -> KEPT or BROKEN, as lint-imports reports them."""
    return dict(re.findall(r"^(.+) (KEPT|BROKEN)(?: \(.*\))?$", stdout, re.MULTILINE))


def test_every_declared_contract_is_checked(tmp_path):
    result = lint.lint_imports(lint.package_view(tmp_path))
    reported = outcomes(result.stdout)
    assert reported == {c["name"]: "KEPT" for c in contracts().values()}, result.stdout
    assert result.returncode == 0


def test_the_base_contract_covers_every_module_of_the_base():
    base = {
        f"jifen.platform.{path.stem}"
        for path in (ROOT / "platform").iterdir()
        if (path.suffix == ".py" or (path / "__init__.py").exists()) and path.name != "shell"
    }
    assert set(contracts()["base"]["source_modules"]) == base


def test_an_upward_import_from_the_base_breaks_the_build(tmp_path):
    view = lint.package_view(tmp_path)
    db = view / "jifen" / "platform" / "db.py"
    source = db.read_text(encoding="utf-8")
    db.unlink()  # a link into the working tree: write a changed copy in its place
    db.write_text(source + "\nfrom jifen.exchange import swaps  # noqa: E402\n")

    result = lint.lint_imports(view, "--contract", "base")

    assert result.returncode == 1
    assert outcomes(result.stdout) == {contracts()["base"]["name"]: "BROKEN"}
    assert "jifen.platform.db is not allowed to import jifen.exchange:" in result.stdout
    assert "jifen.platform.db -> jifen.exchange.swaps (l." in result.stdout

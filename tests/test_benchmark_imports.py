"""Benchmarks sit beside the package, not above it: they use its public modules, never the
command line's module (`cli` is the top of the import graph) or another module's private names."""

import ast
from pathlib import Path

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


def _imports(path: Path) -> list[tuple[str, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


def test_benchmarks_import_no_cli_and_no_private_names():
    assert len(BENCHMARKS) >= 5
    for path in BENCHMARKS:
        for module, name in _imports(path):
            if not module.startswith("liquidcare"):
                continue
            assert module != "liquidcare.cli" and not module.startswith("liquidcare.cli."), path
            assert not name.startswith("_"), (path.name, module, name)
        # started as a child process: the package's own entry point, not the cli module
        assert '"liquidcare.cli"' not in path.read_text(), path.name


def test_python_dash_m_liquidcare_is_the_command(capsys):
    import runpy
    import sys

    import pytest

    argv = sys.argv
    sys.argv = ["liquidcare", "--version"]
    try:
        with pytest.raises(SystemExit) as stop:
            runpy.run_module("liquidcare", run_name="__main__")
    finally:
        sys.argv = argv
    assert stop.value.code == 0 and capsys.readouterr().out.startswith("liquidcare ")

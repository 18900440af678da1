"""The package's layout: one concept per module, layers that import only below
themselves, no cycle, and science that imports without the workflow's tools."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from laser.workflow import code

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "laser"
# the floors, bottom up: a module imports only from its own floor or below
FLOORS = {
    "base": 0,
    "data": 1,
    "models": 2,
    "latent": 3,
    "evaluation": 4,
    "blackbox": 5,
    "workflow": 6,
}
MAX_LINES = 420


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out[".".join(parts)] = path
    return out


def _floor(module: str) -> int:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in FLOORS:
        return FLOORS[parts[1]]
    return FLOORS["base"]


def _graph() -> dict[str, set[str]]:
    return {m: code.imports(p, ROOT) - {m} for m, p in _modules().items()}


def test_every_module_is_short_and_documented():
    for name, path in _modules().items():
        text = path.read_text()
        assert len(text.splitlines()) <= MAX_LINES, f"{name} is over {MAX_LINES} lines"
        tree = ast.parse(text)
        assert ast.get_docstring(tree), f"{name} has no module docstring"


def test_no_import_climbs_a_layer():
    for module, deps in _graph().items():
        for dep in deps:
            if dep == "laser" or module == "laser" or dep == module.rsplit(".", 1)[0]:
                continue  # the packages' own __init__ files
            assert _floor(dep) <= _floor(module), f"{module} imports {dep} above it"


def test_nothing_outside_workflow_imports_workflow():
    for module, deps in _graph().items():
        if module.startswith("laser.workflow"):
            continue
        assert not any(d.startswith("laser.workflow") for d in deps), module


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in graph.get(m, ()):
            if state.get(d) == 1:
                raise AssertionError(f"import cycle: {' -> '.join([*path, m, d])}")
            if d not in state:
                visit(d, [*path, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


@pytest.mark.parametrize("subpackage", ["models", "latent", "evaluation", "blackbox"])
def test_science_imports_without_jsonschema_or_yaml(subpackage):
    """Each science module imports in a fresh interpreter where jsonschema and
    yaml cannot be imported."""
    names = [m for m in _modules() if m.startswith(f"laser.{subpackage}")]
    prog = (
        "import sys\n"
        "sys.modules['jsonschema'] = None\n"
        "sys.modules['yaml'] = None\n"
        "import importlib\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", prog], cwd=ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-2000:]

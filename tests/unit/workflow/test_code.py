"""Code inputs derived from imports (laser.workflow.code), against what Python
itself imports when a script's import lines run."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from laser.workflow import code

ROOT = Path(__file__).resolve().parents[3]
SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))


def _imported_at_run_time(script: Path) -> set[str]:
    """The laser modules in sys.modules after running the script's imports."""
    tree = ast.parse(script.read_text())
    lines = [
        ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    prog = "\n".join(
        [
            "import json, sys",
            *lines,
            "print(json.dumps(sorted(m for m in sys.modules"
            " if m == 'laser' or m.startswith('laser.'))))",
        ]
    )
    res = subprocess.run(
        [sys.executable, "-c", prog], cwd=ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return set(json.loads(res.stdout))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_derived_inputs_are_what_the_script_imports(script):
    derived = code.script_inputs(script, ROOT)
    expected = sorted(
        str(code._module_file(m, ROOT)) for m in _imported_at_run_time(script)
    )
    assert derived == expected


def test_dropped_kinds_and_black_box_modules():
    script = ROOT / "scripts" / "train_refiner.py"
    full = code.script_inputs(script, ROOT)
    flow = code.script_inputs(script, ROOT, drop=("laser.models.gan",))
    assert set(full) - set(flow) == {str(ROOT / "laser" / "models" / "gan.py")}
    box = ROOT / "scripts" / "sample_blackbox.py"
    plain = code.script_inputs(box, ROOT)
    smeared = code.script_inputs(box, ROOT, spec="laser.blackbox:SmearedGenerator")
    assert str(ROOT / "laser" / "blackbox" / "boxes.py") in set(smeared) - set(plain)
    assert code.script_inputs(box, ROOT, spec="mypackage.box:Box") == plain

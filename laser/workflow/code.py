"""The code inputs of a rule, derived from its script: the package modules that
the script imports, directly or through other modules of ``laser/``, so that
editing a module reruns exactly the jobs whose scripts import it.

An import is read from the source (``import laser.x``, ``from laser.x import y``,
``from laser import x``, at any depth of the file), never executed; importing a
module also runs its packages' ``__init__.py``, which count too.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
from pathlib import Path

__all__ = ["imports", "closure", "script_inputs", "spec_modules"]

#: The package's directory.
PACKAGE = Path(__file__).resolve().parents[1]


def _module_file(name: str, root: Path) -> Path | None:
    """The file of module ``name`` (``laser.a.b``) under ``root`` (the directory
    holding ``laser/``), or None where there is none."""
    parts = name.split(".")
    base = root.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _name_of(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _runtime_nodes(tree: ast.AST):
    """The nodes of `tree` that run: all but the bodies of ``if TYPE_CHECKING:``
    (imports for annotations only)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))


def imports(path: Path, root: Path) -> set[str]:
    """The modules of ``laser`` that the source file ``path`` imports, with the
    packages above each (whose ``__init__`` runs first)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            # `from laser.pkg import mod`: mod is a module where it has a file
            names += [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name != "laser" and not name.startswith("laser."):
                continue
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                if _module_file(".".join(parts[:i]), root):
                    found.add(".".join(parts[:i]))
    return found


def _with_packages(names: set[str] | frozenset[str]) -> set[str]:
    """The names and the packages above each (`laser.a.b`: `laser.a`, `laser`)."""
    out = set()
    for name in names:
        parts = name.split(".")
        out |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return out


@functools.cache
def _closure(names: frozenset[str], root: Path) -> frozenset[str]:
    start = _with_packages(names)
    todo, seen = list(start), set(start)
    while todo:
        path = _module_file(todo.pop(), root)
        for dep in imports(path, root) - seen:
            seen.add(dep)
            todo.append(dep)
    return frozenset(seen)


def closure(names: set[str] | frozenset[str], root: Path = PACKAGE.parent) -> set[str]:
    """The modules ``names`` with everything they import within ``laser``.

    Examples:
        >>> sorted(closure({"laser.latent.integrator"}))
        ['laser', 'laser.latent', 'laser.latent.integrator']
    """
    return set(_closure(frozenset(names), Path(root)))


def spec_modules(spec: str | None) -> set[str]:
    """The package modules behind a ``"package.module:name"`` spec (a black box)
    and what they import: none for code outside ``laser``."""
    if not spec or not spec.startswith("laser"):
        return set()
    module, _, name = spec.partition(":")
    obj = importlib.import_module(module)
    for part in name.split(".")[:1]:
        obj = getattr(obj, part)
    owner = inspect.getmodule(obj)
    names = {module} | ({owner.__name__} if owner else set())
    return closure({n for n in names if n.startswith("laser")})


def script_inputs(
    script: Path,
    root: Path = PACKAGE.parent,
    drop: tuple[str, ...] = (),
    spec: str | None = None,
) -> list[str]:
    """The files of the modules that ``script`` uses, sorted: its imports'
    closure (:func:`closure`) less the modules ``drop`` (the kinds of network
    the job does not load, e.g. ``laser.models.gan`` for a flow baseline with a
    flow refiner). A script that loads a black box (through
    :mod:`laser.blackbox.spec`) also uses the box's own modules, those of the
    config's ``spec`` (:func:`spec_modules`)."""
    names = closure(imports(Path(script), Path(root)), root)
    if "laser.blackbox.spec" in names:
        names |= spec_modules(spec)
    names -= set(drop)
    return sorted(str(_module_file(n, Path(root))) for n in names)

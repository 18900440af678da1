"""The documentation: the README stays short, the pages under docs/ link only to
files that exist, the API reference covers every module of laser/ and names only
importable ones, every page is in the site's navigation (mkdocs.yml), and no page
names a module or file of the package that does not exist (such as the modules
the package was split out of)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_MAX_LINES = 150
# Records of past runs, each naming the commit it ran (and the module names of
# that commit); generated or dated, they are kept as written.
RECORDS = {
    *(p for p in (DOCS / "results").rglob("*.md") if p.name != "index.md"),
    DOCS / "benchmarks" / "summary.md",
}
# Modules that the package was split into subpackages out of, and so no longer has.
REMOVED = [
    "mcmc",
    "pullback",
    "samplers",
    "flows",
    "gan",
    "classifier",
    "generators",
    "refiners",
    "oracle",
    "diagnostics",
    "metrics",
    "plots",
    "topology",
    "weights",
    "omnifold",
    "config",
    "logs",
]
REMOVED_NAME = re.compile(r"(?<![\w.])laser\.(" + "|".join(REMOVED) + r")(?![\w])")
REMOVED_PATH = re.compile(r"(?<![\w/])laser/(" + "|".join(REMOVED) + r")\.py\b")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
DIRECTIVE = re.compile(r"^:::\s+(\S+)", re.M)
DOTTED = re.compile(r"(?<![\w.])laser(?:\.\w+)+(?::\w+)?")
PATH = re.compile(r"(?<![\w/.])laser/[\w/]*\w\.py\b")


def _pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _docs() -> list[Path]:
    return [README, *_pages()]


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def _prose(text: str) -> str:
    """The text less its fenced code blocks and inline code spans."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def _modules() -> set[str]:
    out = set()
    for path in (ROOT / "laser").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out.add(".".join(parts))
    return out


def _nav_pages(nav) -> set[str]:
    """The page paths of a mkdocs nav (nested lists and single-key mappings)."""
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, list):
        return set().union(*(_nav_pages(item) for item in nav))
    if isinstance(nav, dict):
        return set().union(*(_nav_pages(v) for v in nav.values()))
    return set()


def _resolves(name: str) -> bool:
    """Whether a dotted ``laser.`` name (or ``module:attr`` spec) is a module or an
    attribute of one."""
    module, _, attr = name.partition(":")
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        rest = parts[i:] + ([attr] if attr else [])
        for part in rest:
            if not hasattr(obj, part):
                return False
            obj = getattr(obj, part)
        return True
    return False


def test_readme_is_short():
    n = len(README.read_text().splitlines())
    assert n <= README_MAX_LINES, f"README.md: {n} lines (at most {README_MAX_LINES})"


def test_link_pattern_finds_links_and_skips_code():
    text = "[a](x.md) ![b](y.svg#z) `[c](code.md)`\n```\n[d](fence.md)\n```\n[e]: f"
    assert LINK.findall(_prose(text)) == ["x.md", "y.svg#z"]


@pytest.mark.parametrize("path", _docs(), ids=_ids(_docs()))
def test_relative_links_point_at_existing_files(path):
    broken = []
    for target in LINK.findall(_prose(path.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (https:, mailto:) or an anchor of the same page
        file = target.split("#", 1)[0]
        if not (path.parent / file).exists():
            broken.append(target)
    assert not broken, f"{path.relative_to(ROOT)} links to missing files: {broken}"


def test_api_reference_covers_every_module_and_names_only_real_ones():
    named = {}
    for page in sorted((DOCS / "api").glob("*.md")):
        for name in DIRECTIVE.findall(page.read_text()):
            named.setdefault(name, page.name)
    missing = sorted(_modules() - set(named))
    assert not missing, f"modules without a '::: name' block in docs/api/: {missing}"
    for name, page in named.items():
        assert name.startswith("laser"), f"docs/api/{page}: '::: {name}'"
        importlib.import_module(name)  # raises for a module that does not exist


def test_every_page_is_in_the_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = _nav_pages(config["nav"])
    pages = {str(p.relative_to(DOCS)) for p in _pages()}
    assert not pages - nav, f"pages not in mkdocs.yml nav: {sorted(pages - nav)}"
    assert not nav - pages, f"nav names missing pages: {sorted(nav - pages)}"


def test_removed_module_pattern_matches_whole_names_only():
    assert REMOVED_NAME.search("see laser.flows.RealNVP")
    assert REMOVED_PATH.search("in laser/mcmc.py")
    for fine in ["laser.models.flows", "laser.latent.oracle", "laser.configs"]:
        assert not REMOVED_NAME.search(fine), fine
    assert not REMOVED_PATH.search("laser/latent/oracle.py")


@pytest.mark.parametrize("path", _docs(), ids=_ids(_docs()))
def test_no_page_names_a_module_the_package_does_not_have(path):
    if path in RECORDS:
        pytest.skip("a dated record, kept as written")
    text = path.read_text()
    removed = sorted({m.group(0) for m in REMOVED_NAME.finditer(text)})
    removed += sorted({m.group(0) for m in REMOVED_PATH.finditer(text)})
    assert not removed, f"{path.relative_to(ROOT)} names removed modules: {removed}"
    unknown = sorted({n for n in DOTTED.findall(text) if not _resolves(n)})
    assert not unknown, f"{path.relative_to(ROOT)} names what laser lacks: {unknown}"
    files = sorted({p for p in PATH.findall(text) if not (ROOT / p).is_file()})
    assert not files, f"{path.relative_to(ROOT)} names missing files: {files}"

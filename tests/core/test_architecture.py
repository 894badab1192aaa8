"""The house rules of the code base, checked on the source itself (docs: README "Architecture").

import-linter (`make lint`) checks the layer order; these tests check what it cannot: that no
project import hides inside a function, that no app module grows past 500 lines, and that the
README's diagram names the layers the contracts enforce.
"""

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
PACKAGES = CONFIG["root_packages"]
MAX_LINES = 500
# Modules allowed past MAX_LINES, each with its reason.
LONG_MODULES = {
    "config/settings.py": "one flat settings module is easier to audit than a package",
}
# Being split by sub-domain (issue 16); this list only shrinks.
SPLIT_PENDING = {}


def _product_modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, path.relative_to(ROOT).as_posix()


def _enclosing_function(node, parents):
    parent = parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
            return parent
        parent = parents.get(parent)
    return None


def _is_project_import(node) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] in PACKAGES
    return any(alias.name.split(".")[0] in PACKAGES for alias in node.names)


def _allowed_in_function(relative: str, function) -> bool:
    # AppConfig.ready is where an app wires its signals, checks and task registry: Django's
    # documented place for imports that must wait until every app is loaded. A migration's
    # RunPython function imports the code it runs at migrate time, by Django's convention.
    if relative.endswith("/apps.py") and function.name == "ready":
        return True
    return "/migrations/" in relative


def test_no_project_import_inside_a_function():
    hidden = []
    for path, relative in _product_modules():
        tree = ast.parse(path.read_text(), filename=relative)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or not _is_project_import(node):
                continue
            function = _enclosing_function(node, parents)
            if function is not None and not _allowed_in_function(relative, function):
                hidden.append(f"{relative}:{node.lineno} in {function.name}()")
    assert hidden == [], "imports hidden inside functions (move them to the top):\n" + "\n".join(
        hidden
    )


def test_the_checker_sees_an_import_inside_a_function():
    tree = ast.parse("def f():\n    from loans import services\n")
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    node = tree.body[0].body[0]
    assert _is_project_import(node)
    function = _enclosing_function(node, parents)
    assert function.name == "f"


def test_no_app_module_over_500_lines():
    long = {
        relative: lines
        for path, relative in _product_modules()
        if "/migrations/" not in relative
        and (lines := len(path.read_text().splitlines())) > MAX_LINES
        and relative not in LONG_MODULES
        and relative not in SPLIT_PENDING
    }
    assert long == {}, f"modules past {MAX_LINES} lines (split them by sub-domain): {long}"


def _readme_layers() -> list[set[str]]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Architecture", 1)[1]
    diagram = section.split("```", 2)[1]
    layers = []
    for line in diagram.splitlines():
        # A layer's line starts with its packages ("arrears/   notifications/"); continuation
        # lines of a description start with spaces.
        if line and not line[0].isspace():
            layers.append(set(re.findall(r"([a-z_]+)/", line[:29])))
    return layers


def test_readme_diagram_matches_the_enforced_layers():
    (contract,) = [c for c in CONFIG["contracts"] if c["type"] == "layers"]
    enforced = [{name.strip() for name in layer.split("|")} for layer in contract["layers"]]
    assert _readme_layers() == enforced
    assert set().union(*enforced) <= set(PACKAGES)

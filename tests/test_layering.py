"""The import directions of DESIGN.md, read off the source with ``ast``: which package may import
which, torch only where it belongs, no module importing itself back (imports inside functions
count too), and training never naming dse, not even in a string such as a subprocess command or
a file path."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("accelsim", "training", "dse", "dashboards", "experiments")
# Ours that each package may import besides itself; nothing imports experiments.
MAY_IMPORT = {"accelsim": set(), "training": {"accelsim"}, "dse": {"accelsim"},
              "dashboards": {"dse", "accelsim"}, "experiments": {"training", "dse", "accelsim"}}
NO_TORCH = ("accelsim", "dse")
# "dse" as a name of its own: dse.sweep, -m dse, dse/paper_accuracy.csv; not wrpn-dse.
NAMES_DSE = re.compile(r"(?<![\w-])dse\b")


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of our packages by dotted name."""
    return {module_name(path, root): path for package in PACKAGES
            for path in sorted((root / package).rglob("*.py"))}


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules ``name`` imports anywhere in its file, absolute names; ours resolved to the
    submodule when one exists (``from . import x``), else to the package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return found


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imports(name, path, known) for name, path in known.items()}


def top(name: str) -> str:
    return name.split(".")[0]


def forbidden(edges: dict[str, set[str]]) -> list[str]:
    """'a.b -> c.d' for every import DESIGN.md does not allow."""
    bad = []
    for source, targets in edges.items():
        package = top(source)
        for target in sorted(targets):
            ours = top(target) in PACKAGES and top(target) != package
            if ours and top(target) not in MAY_IMPORT[package]:
                bad.append(f"{source} -> {target}")
            if package in NO_TORCH and top(target) == "torch":
                bad.append(f"{source} -> {target}")
    return bad


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in edges:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges[node]:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def strings_naming_dse(root: Path = ROOT) -> list[str]:
    """'module: text' for every string literal in training that names dse."""
    found = []
    for name, path in modules(root).items():
        if top(name) != "training":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and NAMES_DSE.search(node.value):
                found.append(f"{name}: {node.value[:80]!r}")
    return found


def test_every_package_is_found():
    names = set(modules())
    assert {"accelsim.cost", "accelsim.cost.report", "training.train", "dse.sweep",
            "dashboards.views.explorer", "experiments.reproduce"} <= names


def test_imports_run_the_way_design_md_draws_them():
    assert forbidden(graph()) == []


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_training_never_names_dse():
    assert strings_naming_dse() == []


@pytest.mark.parametrize("files, broken", [
    ({"accelsim/__init__.py": "", "accelsim/cost.py": "def f():\n    from .network import g\n",
      "accelsim/network.py": "from .cost import f\n"}, "cycle"),
    ({"accelsim/__init__.py": "import torch\n"}, "forbidden"),
    ({"dse/__init__.py": "from training import train\n"}, "forbidden"),
    ({"dashboards/x.py": "from experiments.report import render\n"}, "forbidden"),
    ({"training/x.py": "import subprocess\nsubprocess.run(['python', '-m', 'dse.sweep'])\n"},
     "string"),
    ({"training/y.py": "PAPER = ROOT / 'dse' / 'paper_accuracy.csv'\n"}, "string"),
])
def test_the_checks_catch_what_they_are_for(tmp_path, files, broken):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    edges = graph(tmp_path)
    found = {"cycle": bool(cycles(edges)), "forbidden": bool(forbidden(edges)),
             "string": bool(strings_naming_dse(tmp_path))}
    assert [kind for kind, hit in found.items() if hit] == [broken]

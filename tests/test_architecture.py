"""recsys_core stays pure: importing every module of it never loads prefect."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_recsys_core_never_imports_prefect():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "recsys_core").rglob("*.py")
    )
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + (
            "bad = [m for m in sys.modules if m == 'prefect' or m.startswith('prefect.')]\n"
            "print(bad)\nsys.exit(1 if bad else 0)\n"
        )
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(modules) > 10  # the walk really found the package


def test_no_prefect_import_statement_in_core():
    offenders = [
        str(p)
        for p in (ROOT / "recsys_core").rglob("*.py")
        if "import prefect" in p.read_text() or "from prefect" in p.read_text()
    ]
    assert offenders == []


# ---------------------------------------------------------------- layering

# recsys_core's layers, lowest first: a module may import its own layer and those below.
# Foundation modules (value types, errors, metric formulas) sit under everything.
LAYERS = (
    ("columns", "config", "errors", "metrics", "progress", "reporting", "version"),
    ("io",),
    ("data",),
    ("ranking",),
    ("models",),
    ("scoring",),
    ("evaluation",),
    ("publishing",),
    ("tuning",),
    ("pipeline",),
    # Command-line entry points kept at the paths earlier layouts documented.
    ("migrate",),
)
LAYER_OF = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _core_modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for p in (ROOT / "recsys_core").rglob("*.py")
    }


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every recsys_core module ``path`` imports, anywhere in the file (function bodies and
    ``if TYPE_CHECKING:`` blocks included: a circle hidden there is still a circle)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from pkg import mod`` imports the module pkg.mod when there is one.
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                for a in node.names
            ]
        else:
            continue
        found.update(name for name in names if name in modules)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _core_modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _layer(module: str) -> int:
    part = module.split(".")[1] if "." in module else ""
    if part not in LAYER_OF:
        raise AssertionError(f"{module} is in no layer: add its package to LAYERS")
    return LAYER_OF[part]


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """``a -> b`` for every import of a higher layer."""
    return sorted(
        f"{module} -> {imported}"
        for module, imported_set in graph.items()
        if module != "recsys_core"
        for imported in imported_set
        if _layer(imported) > _layer(module)
    )


def test_no_import_circles_in_the_core():
    assert import_circles(_graph()) == []


def test_no_module_imports_a_layer_above_its_own():
    assert upward_imports(_graph()) == []


def test_the_checks_see_a_circle_and_an_upward_import():
    """The two checks above on graphs with the faults they look for."""
    assert import_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph = {"recsys_core.ranking.topk": {"recsys_core.models.registry"}}
    assert upward_imports(graph) == ["recsys_core.ranking.topk -> recsys_core.models.registry"]


def test_tasks_and_flows_reach_the_core_only_downward():
    """tasks/ never imports flows/, and the core imports neither."""
    for folder, forbidden in (("tasks", ("flows",)), ("recsys_core", ("tasks", "flows"))):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                bad = [n for n in names if n.split(".")[0] in forbidden]
                assert not bad, f"{path.relative_to(ROOT)} imports {bad}"

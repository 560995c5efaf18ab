"""schema/ and protocol/ stay sans-I/O: they import no event loop, socket or HTTP module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import kisfeed

PACKAGE = Path(kisfeed.__file__).parent
IO_MODULES = {"asyncio", "websockets", "httpx", "socket", "ssl", "selectors", "http", "urllib"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_schema_and_protocol_sources_import_no_io_module():
    for sub in ("schema", "protocol"):
        for path in sorted((PACKAGE / sub).rglob("*.py")):
            assert not imported_modules(path) & IO_MODULES, path


def test_importing_them_loads_no_io_module_at_all():
    # Transitively too: a fresh interpreter imports kisfeed.schema and kisfeed.protocol and
    # reports which I/O modules ended up in sys.modules.
    code = (
        "import sys, kisfeed.schema, kisfeed.protocol; "
        f"print(sorted(m for m in {sorted(IO_MODULES)!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_simulator_never_imports_the_client():
    # The simulator must not share the client's bugs (design: sim uses schema and protocol only).
    sources = sorted((PACKAGE / "sim").rglob("*.py"))
    assert sources
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for forbidden in (
            "kisfeed.client",
            "kisfeed.auth",
            "from ..client",
            "from ..auth",
            "from .. import client",
        ):
            assert forbidden not in text, (path, forbidden)


def module_name(path: Path) -> str:
    parts = ["kisfeed", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def kisfeed_imports(name: str) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for each import of a kisfeed module in ``name``,
    lazy ones in functions included, those only a type checker runs (``if TYPE_CHECKING``) not."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names if a.name.split(".")[0] == "kisfeed")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "kisfeed":
                names = [a.name for a in node.names]
                # "from . import events": the names are modules themselves, and the package is
                # only the way to them
                modules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
                if len(modules) < len(names):
                    found.append((target, names))
                found.extend((m, []) for m in modules)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def import_graph() -> dict[str, set[str]]:
    return {name: {t for t, _ in kisfeed_imports(name) if t in MODULES and t != name} for name in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_find_cycle_sees_a_cycle_and_its_absence():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_import_graph_has_no_cycle():
    # A package's __init__ importing its own modules is the package's face, not a cycle, as long
    # as no module imports back the package it sits in.
    graph = import_graph()
    assert len(graph) > 50 and any(graph.values())
    assert find_cycle(graph) is None


def test_no_module_imports_a_private_name_of_another():
    offences = [
        f"{name} imports {taken} from {target}"
        for name in MODULES
        for target, names in kisfeed_imports(name)
        for taken in names
        if taken.startswith("_") and not taken.startswith("__") and target != name
    ]
    assert offences == []

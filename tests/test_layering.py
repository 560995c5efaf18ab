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
        for forbidden in ("kisfeed.client", "kisfeed.auth", "from ..client", "from ..auth", "from .. import client"):
            assert forbidden not in text, (path, forbidden)

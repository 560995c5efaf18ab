"""``import kisfeed`` stays cheap, and its I/O subpackages are still reachable as attributes."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "asyncio",
    "websockets",
    "httpx",
    "duckdb",
    "pyarrow",
    "kisfeed.client",
    "kisfeed.store",
    "kisfeed.sim",
]


def fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (sys.modules of this one holds everything already)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_import_kisfeed_loads_no_io_subpackage():
    code = f"import sys, json, kisfeed; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    assert json.loads(fresh(code)) == []


def test_the_subpackages_are_attributes_of_kisfeed():
    # The README's recipe: `import kisfeed` then `kisfeed.store.query(...)` (an AttributeError
    # before, because nothing had imported kisfeed.store).
    code = (
        "import kisfeed; "
        "print(kisfeed.store.query.__module__, kisfeed.sim.Simulator.__name__, "
        "kisfeed.client.FeedSettings.__name__, kisfeed.connect.__name__)"
    )
    assert fresh(code).split() == ["kisfeed.store.views", "Simulator", "FeedSettings", "connect"]


def test_an_unknown_attribute_is_still_an_attribute_error():
    code = "import kisfeed\ntry:\n    kisfeed.shop\nexcept AttributeError as e:\n    print(e)"
    assert fresh(code).strip() == "module 'kisfeed' has no attribute 'shop'"


def test_no_store_name_is_shadowed_by_a_submodule_of_the_same_name():
    # A package attribute that is also a submodule's name is replaced by the module as soon as
    # anything imports that submodule: `kisfeed.store.query(...)` then raised "'module' object
    # is not callable" depending on import order. So no public name may be a module's name.
    import pkgutil

    import kisfeed.store

    modules = {m.name for m in pkgutil.iter_modules(kisfeed.store.__path__)}
    assert modules.isdisjoint(kisfeed.store.__all__), modules & set(kisfeed.store.__all__)
    code = (
        "import importlib, kisfeed.store as s\n"
        "for m in " + repr(sorted(modules)) + ":\n"
        "    importlib.import_module('kisfeed.store.' + m)\n"
        "print(callable(s.query), callable(s.replay))"
    )
    assert fresh(code).split() == ["True", "True"]

"""The layering contracts in pyproject.toml cover every package of the house, and no module imports
itself back through others (lint-imports, run by `make lint`, checks the contracts themselves)."""

import sys
import tomllib
from pathlib import Path

import grimp
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _local_packages() -> set[str]:
    """The Django apps whose code lives in this repository, plus config and the demo data."""
    local = {app.name.split(".")[0] for app in apps.get_app_configs() if Path(app.path).parent == ROOT}
    return local | {"config", "demo"}


def test_every_package_is_named_in_the_contracts():
    assert set(CONFIG["root_packages"]) == _local_packages()


def test_every_package_stands_in_exactly_one_layer():
    [layers] = [c["layers"] for c in CONFIG["contracts"] if c["type"] == "layers"]
    placed = [name.strip() for layer in layers for name in layer.split("|")]
    assert sorted(placed) == sorted(CONFIG["root_packages"])


def test_no_import_cycle_between_modules():
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*CONFIG["root_packages"])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        nonlocal counter
        index[module] = low[module] = counter
        counter += 1
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in sorted(graph.modules):
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    assert cycles == []

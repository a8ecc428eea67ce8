"""The shape of the code: no import cycles, modules that do one job (docs/architecture.md).

The layer contracts themselves are import-linter's (`.importlinter`, run by `make lint`); these
tests add what its contracts do not say: no module takes part in an import cycle, and no module
grows past a few hundred lines without a stated reason.
"""

from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "profiles", "selling_lists", "sync", "config")
MAX_LINES = 420
# Modules allowed to be longer, and why.
LONGER = {
    "sync/clients/amazon.py": "one class per SP-API operation group; splitting the client by "
    "operation would scatter its error mapping",
}


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_no_module_takes_part_in_an_import_cycle():
    graph = grimp.build_graph(*APPS, include_external_packages=False)
    assert _cycles(graph) == []


def test_no_module_is_much_longer_than_a_few_hundred_lines_without_a_reason():
    long = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative in LONGER:
                continue
            lines = len(path.read_text().splitlines())
            if lines > MAX_LINES:
                long[relative] = lines
    assert long == {}

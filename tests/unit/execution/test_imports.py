"""execution/ modules import each other without a circle (module-level imports only)."""

from __future__ import annotations

import ast
from pathlib import Path

import ktrdr.execution as execution

PACKAGE = Path(execution.__file__).parent


def _module_level_imports(path: Path) -> set[str]:
    """Sibling modules imported at module level, outside ``if TYPE_CHECKING:`` blocks."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ktrdr.execution."):
            found.add(node.module.removeprefix("ktrdr.execution.").split(".")[0])
    return found


def test_execution_modules_import_each_other_without_a_circle() -> None:
    graph = {p.stem: _module_level_imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        assert module not in visiting, f"import circle: {' -> '.join([*visiting, module])}"
        if module in done:
            return
        visiting.append(module)
        for imported in graph.get(module, ()):
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in graph:
        visit(module)

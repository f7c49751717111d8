"""Measure the layout of the ``workbench`` package: module sizes and import circles.

Prints the number of modules and their lines, the largest modules, the modules over a line
limit (500 unless ``--max-lines`` says otherwise), and the import circles inside the package:
the strongly connected groups of its module import graph, each with the imports that close it.

Every import of a package module counts, wherever it is written: at the top of a module, inside
a function (imports deferred to keep start-up light still tie the modules together), or under
``if TYPE_CHECKING:``. ``from workbench.a import b`` is an import of the module ``workbench.a.b``
when that is a module, else of ``workbench.a``. Importing a submodule also runs its packages'
``__init__`` modules; those implicit imports are not counted, so a package that re-exports its
submodules forms no circle, while a submodule that imports from its own package's ``__init__``
does.

    python bench/layout.py                   # the report
    python bench/layout.py --all             # every module's line count too
    python bench/layout.py --max-lines 500   # exit 1 if a module is longer or a circle exists
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Modules longer than this are listed when no ``--max-lines`` is given.
DEFAULT_LIMIT = 500


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` file under the package folder ``root``."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imported(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package modules that ``module`` (read from ``path``) imports anywhere in its code."""
    # Relative imports count from the package: the module itself when it is an __init__.
    here = module if path.name == "__init__.py" else module.rpartition(".")[0]
    deps: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            deps.update(_owner(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, here)
            if base is None:
                continue
            names = [f"{base}.{alias.name}" for alias in node.names]
            deps.update(name for name in names if name in known)
            if any(name not in known for name in names):
                deps.add(_owner(base, known))
    deps.discard(module)
    deps.discard("")
    return deps


def _absolute(name: str | None, level: int, here: str) -> str | None:
    """The absolute module an ``import from`` names (``level`` dots are relative to ``here``)."""
    if level == 0:
        return name
    parts = here.split(".")
    if level - 1 >= len(parts):
        return None  # beyond the top package: not ours to resolve
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{name}" if name else base


def _owner(name: str, known: dict[str, Path]) -> str:
    """The longest known module that ``name`` is or lies in; "" when it is outside the package."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * len(graph) + 100))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups)


def edges(group: list[str], graph: dict[str, set[str]]) -> Iterator[tuple[str, str]]:
    """The imports between the modules of one group."""
    members = set(group)
    for a in group:
        for b in sorted(graph[a] & members):
            yield a, b


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "root", nargs="?", type=Path, default=REPO / "workbench", help="the package folder"
    )
    parser.add_argument("--top", type=int, default=5, help="how many of the largest to list")
    parser.add_argument("--all", action="store_true", help="list every module's line count")
    parser.add_argument(
        "--max-lines",
        type=int,
        metavar="N",
        help="exit 1 when a module has more than N lines or an import circle exists",
    )
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    if not (root / "__init__.py").is_file():
        parser.error(f"{root} is not a package folder")

    known = modules(root)
    graph = {name: imported(name, path, known) for name, path in known.items()}
    sizes = sorted(
        ((len(path.read_text("utf-8").splitlines()), name) for name, path in known.items()),
        key=lambda item: (-item[0], item[1]),
    )
    limit = DEFAULT_LIMIT if args.max_lines is None else args.max_lines
    over = [(n, name) for n, name in sizes if n > limit]
    groups = circles(graph)

    print(f"modules: {len(sizes)}, lines: {sum(n for n, _ in sizes)}")
    print("largest modules:")
    for n, name in sizes if args.all else sizes[: args.top]:
        print(f"  {n:6d}  {name}")
    print(f"over {limit} lines: {len(over)}")
    for n, name in over:
        print(f"  {n:6d}  {name}")
    print(f"import cycles (strongly connected groups): {len(groups)}")
    for group in groups:
        print("  " + ", ".join(group))
        for a, b in edges(group, graph):
            print(f"    {a} -> {b}")
    if args.max_lines is not None and (over or groups):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Print the structure figures issue 15 asks to track: the largest functions, the uses of Any,
and how many test call sites start a subprocess.

    python tools/measure_structure.py [--top N]
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BRANCHES = (
    ast.If,
    ast.For,
    ast.While,
    ast.AsyncFor,
    ast.With,
    ast.Try,
    ast.ExceptHandler,
    ast.BoolOp,
    ast.IfExp,
    ast.comprehension,
    ast.match_case,
)


def complexity(function: ast.AST) -> int:
    """McCabe's count, near enough: one plus each branch point inside the function."""
    return 1 + sum(isinstance(node, BRANCHES) for node in ast.walk(function))


def functions(paths: list[Path]) -> list[tuple[int, int, str]]:
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                name = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                found.append((length, complexity(node), name))
    return sorted(found, reverse=True)


def any_uses(paths: list[Path]) -> tuple[int, int]:
    """(uses of ``Any`` in code and annotations, modules that import it)."""
    uses = imports = 0
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Name) and node.id == "Any") or (isinstance(node, ast.Attribute) and node.attr == "Any"):
                uses += 1
            elif isinstance(node, ast.ImportFrom) and any(alias.name == "Any" for alias in node.names):
                imports += 1
    return uses, imports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    library = sorted((ROOT / "textseq").rglob("*.py"))
    found = functions(library)
    lengths = sorted(length for length, _, _ in found)
    print(f"functions: {len(found)}, median {lengths[len(lengths) // 2]} lines")
    print("largest (lines, complexity):")
    for length, branches, name in found[: args.top]:
        print(f"  {length:4d} {branches:3d}  {name}")
    print("most complex:")
    for length, branches, name in sorted(found, key=lambda f: -f[1])[: args.top]:
        print(f"  {length:4d} {branches:3d}  {name}")
    uses, imports = any_uses(library)
    print(f"Any in textseq/: {uses} uses, imported by {imports} modules")
    tests = sorted((ROOT / "tests").rglob("*.py"))
    spawns = sum(len(re.findall(r"subprocess\.(?:run|Popen|check_output|call)\(", p.read_text())) for p in tests)
    print(f"subprocess call sites in tests/: {spawns}")


if __name__ == "__main__":
    main()

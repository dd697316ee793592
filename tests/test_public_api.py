"""textseq's public API: the names ``textseq.__all__`` declares resolve, ``import textseq`` stays
cheap, and the plugin guide and the plugin templates import nothing else of textseq."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest

import textseq
from helpers import ROOT

GUIDE = ROOT / "docs" / "plugins.md"
TEMPLATES = ROOT / "textseq" / "templates" / "plugin"
INTERFACES = [
    "hookimpl",
    "RegisterTokenizer",
    "RegisterSmoother",
    "RegisterEmbedder",
    "RegisterArchitecture",
    "Tokenizer",
    "Smoother",
    "Embedder",
    "Architecture",
    "Monitor",
    "EpochReport",
    "TextseqError",
    "InputError",
    "ParameterError",
    "Plugins",
    "set_plugins",
]


@pytest.mark.parametrize("name", textseq.__all__)
def test_every_public_name_resolves(name):
    assert getattr(textseq, name) is not None
    assert name in dir(textseq)


def test_all_the_lazy_table_and_the_type_checkers_imports_name_the_same_things():
    assert set(textseq.__all__) == {"__version__", *textseq._PUBLIC}
    assert len(textseq.__all__) == len(set(textseq.__all__))
    tree = ast.parse((ROOT / "textseq" / "__init__.py").read_text(encoding="utf-8"))
    checked = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    imported = {alias.name: node.module for node in checked.body if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert imported == textseq._PUBLIC


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        textseq.nothing  # noqa: B018


def test_import_textseq_and_its_interfaces_import_neither_torch_nor_numpy():
    script = (
        "import sys, textseq\n"
        "heavy = lambda: [m for m in ('torch', 'numpy', 'click') if m in sys.modules]\n"
        "print(heavy())\n"
        f"for name in {INTERFACES!r}: getattr(textseq, name)\n"
        "print([m for m in heavy() if m != 'click'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "[]"]


def textseq_imports(source: str) -> list[tuple[str, list[str]]]:
    """(module, names) of each ``from textseq... import`` and ``import textseq...`` in ``source``."""
    found = [
        (module, [name.strip().split(" as ")[0] for name in names.strip("()").split(",") if name.strip()])
        for module, names in re.findall(r"^\s*from\s+(textseq(?:\.\w+)*)\s+import\s+(\([^)]*\)|[^\n#]+)", source, re.MULTILINE)
    ]
    found += [(module, []) for module in re.findall(r"^\s*import\s+(textseq(?:\.\w+)*)(?!\w)", source, re.MULTILINE)]
    return found


def guide_code() -> str:
    """The guide's Python: its code blocks and its inline code."""
    text = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    inline = re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", text, flags=re.DOTALL))
    return "\n".join(blocks + inline)


def test_the_guide_imports_only_public_names_from_textseq():
    imports = textseq_imports(guide_code())
    assert imports, "the guide shows no import of textseq"
    for module, names in imports:
        assert module == "textseq", f"the guide imports from {module}: use 'from textseq import ...'"
        assert set(names) <= set(textseq.__all__), f"the guide imports {sorted(set(names) - set(textseq.__all__))}, not in textseq.__all__"


def test_the_guide_names_only_public_things_of_textseq():
    named = set(re.findall(r"\btextseq\.(\w+)", guide_code()))
    assert named <= set(textseq.__all__), f"the guide names textseq.{sorted(named - set(textseq.__all__))}"


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.py")), ids=lambda path: path.relative_to(TEMPLATES).as_posix())
def test_the_plugin_templates_import_only_public_names_from_textseq(path):
    for module, names in textseq_imports(path.read_text(encoding="utf-8")):
        assert module == "textseq" and set(names) <= set(textseq.__all__), (module, names)

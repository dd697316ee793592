"""docs/plugins.md documents every hook with the signature hookspecs.py gives it, and the
signature of the ``register`` callback each hook passes, and no hook that does not exist."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

from textseq import hookspecs

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def hooks() -> dict[str, Any]:
    return {name: f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, "textseq_spec")}


def rendered(name: str, function: Any) -> str:
    """``name(a: T, *, b: U = default) -> R`` as written in the guide (annotations as in the source)."""
    signature = inspect.signature(function)
    parts, keyword_only = [], False
    for parameter in signature.parameters.values():
        if parameter.name == "self":
            continue
        if parameter.kind is parameter.KEYWORD_ONLY and not keyword_only:
            parts.append("*")
            keyword_only = True
        text = parameter.name
        if parameter.annotation is not parameter.empty:
            text += f": {parameter.annotation}"
        if parameter.default is not parameter.empty:
            default = parameter.default
            text += " = " + (json.dumps(default) if isinstance(default, str) else repr(default))
        parts.append(text)
    return f"{name}({', '.join(parts)}) -> {signature.return_annotation}"


def sections() -> dict[str, str]:
    """The guide's ``### `hook(...)` `` sections by hook name: (heading signature, body)."""
    found = {}
    for block in GUIDE.read_text(encoding="utf-8").split("\n### ")[1:]:
        heading, _, body = block.partition("\n")
        match = re.fullmatch(r"`((\w+)\(.*\) -> .*)`", heading.strip())
        if match:
            found[match.group(2)] = (match.group(1), body.split("\n## ")[0])
    return found


def test_every_hook_has_a_section_with_its_signature():
    documented = sections()
    assert set(documented) == set(hooks()), "hooks in the guide differ from hookspecs.py"
    for name, function in hooks().items():
        assert documented[name][0] == rendered(name, function), f"the guide's signature of {name} differs from hookspecs.py"


def test_each_register_callback_is_documented_in_its_hooks_section():
    documented = sections()
    for name, function in hooks().items():
        annotation = inspect.signature(function).parameters[next(iter(inspect.signature(function).parameters))].annotation
        protocol = getattr(hookspecs, annotation, None)
        if protocol is None:  # register_commands takes a click group
            continue
        expected = rendered("register", protocol.__call__)
        assert f"`{expected}`" in documented[name][1], f"{name}: the guide's register signature differs from {annotation}"


def test_the_guide_covers_testing_debugging_and_versioning():
    text = GUIDE.read_text(encoding="utf-8")
    for heading in ("## Testing a plugin", "## Debugging", "## Versioning"):
        assert heading in text
    for name in ("TEXTSEQ_TRACE_PLUGINS", "TEXTSEQ_STRICT_PLUGINS", "TEXTSEQ_LOAD_PLUGINS", "--requirements", "set_plugins"):
        assert name in text


def test_rendering_notices_a_change():
    def register_tokenizers(register: RegisterTokenizer, extra: int = 1) -> None: ...  # noqa: F821

    assert rendered("register_tokenizers", register_tokenizers) != sections()["register_tokenizers"][0]

"""One benchmark script used by another: most names in bench/ (``neural-char``, ...) are not module
names, so a script is loaded from its file (this folder is on ``sys.path`` when one of them runs)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def load_script(name: str) -> ModuleType:
    """The bench script ``name`` (e.g. ``neural-char`` for bench/neural-char.py) as a module, its ``main`` not run."""
    module_name = "bench_" + name.replace("-", "_")
    spec = importlib.util.spec_from_file_location(module_name, HERE / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no bench script {name!r} in {HERE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

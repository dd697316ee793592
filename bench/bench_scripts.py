"""One benchmark script used by another: the scripts in bench/ have no .py suffix, so they are
loaded from their files (this folder is on ``sys.path`` when one of them runs)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def load_script(name: str) -> ModuleType:
    """The bench script ``name`` (e.g. ``neural-char``) as a module, its ``main`` not run."""
    module_name = "bench_" + name.replace("-", "_")
    loader = importlib.machinery.SourceFileLoader(module_name, str(HERE / name))
    spec = importlib.util.spec_from_loader(module_name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module

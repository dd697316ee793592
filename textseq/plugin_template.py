"""``textseq plugins new``: the skeleton of a plugin package, one per kind of part. Private: the
command's implementation, not part of textseq's API.

The package works as written: a pyproject.toml with the entry point in the ``textseq`` group, a
module with one hook implementation that does something small but real, a test that registers the
module in-process (nothing to install) and a README. The author renames, then grows it.

The skeletons are package data, real files under ``textseq/templates/plugin/``: ``common/`` holds
what the package of every kind has, ``<kind>/`` what is the kind's own, and a file in both is
common's text followed by the kind's (the README's usage lines, the tests after their fixture).
Placeholders are filled by plain substitution, in paths and text alike, and are written so that
each file stays valid Python, TOML and Markdown (tools read them as they are): ``__DIST__`` the
distribution (``textseq-shout``), ``__MODULE__`` its module (``textseq_shout``), ``__PART__`` the
part's and entry point's name (``shout``), ``__KIND__`` the kind, and ``"__DEPENDENCIES__"``, a
TOML string, quotes included, that becomes the quoted requirements.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from textseq import __version__
from textseq.registry import KINDS as PART_KINDS

if TYPE_CHECKING:
    from importlib.abc import Traversable

KINDS: tuple[str, ...] = (*PART_KINDS, "command")
"""What a new plugin can register: a part of each registered kind, or a command (which
``register_commands`` adds to the command line, where no registry keeps it)."""

_COMMON = "common"
_NETWORK_KINDS = ("architecture", "classifier")

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PREFIX = "textseq-"

PROJECT_DISTRIBUTIONS = ("textseq", "textseq-moses", "textseq-transformer")
"""The distributions this project publishes (textseq and plugins/): a new plugin named like one
would replace it when installed."""


def plugin_names(name: str) -> dict[str, str]:
    """The names a package called ``name`` uses: distribution, module, entry point and part.

    ``textseq-shout`` gives the module ``textseq_shout`` and the part (and entry point) ``shout``;
    a name without the ``textseq-`` prefix is used as it is (:func:`write_plugin` requires it)."""
    if not _NAME.match(name):
        raise ValueError(f"plugin name {name!r}: use lower-case letters, digits and dashes, starting with a letter (e.g. textseq-shout)")
    part = name.removeprefix(PREFIX)
    return {"dist": name, "module": name.replace("-", "_"), "part": part}


def check_new_name(name: str) -> None:
    """Refuse (``ValueError``) a name a new plugin must not have: one that is not a distribution
    name, not ``textseq-NAME`` with a NAME, or one of this project's own distributions, which
    installing the plugin would replace."""
    if name == PREFIX:
        raise ValueError(f"plugin name {name!r}: give a name after {PREFIX!r} (e.g. textseq-shout)")
    plugin_names(name)
    if name in PROJECT_DISTRIBUTIONS:
        raise ValueError(
            f"plugin name {name!r} is a distribution of textseq's own, which installing the plugin would replace; "
            f"choose another {PREFIX}NAME"
        )
    if not name.startswith(PREFIX):
        raise ValueError(
            f"plugin name {name!r}: name it {PREFIX}NAME (e.g. {PREFIX}{name}), the name every textseq plugin's distribution has"
        )


def write_plugin(name: str, kind: str, parent: Path) -> list[Path]:
    """Write the package ``parent/name`` for a plugin of ``kind``; the files written.

    Raises ``ValueError`` for a bad name (see :func:`check_new_name`) or kind and
    ``FileExistsError`` when the folder exists (nothing of the user's is overwritten)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    check_new_name(name)
    names = plugin_names(name)
    root = parent / name
    if root.exists():
        raise FileExistsError(f"{root} exists already")
    values = {
        '"__DEPENDENCIES__"': ", ".join(f'"{requirement}"' for requirement in _requirements(kind)),
        "__DIST__": names["dist"],
        "__MODULE__": names["module"],
        "__PART__": names["part"],
        "__KIND__": kind,
    }
    written = []
    staging = parent / f".{name}.partial"
    try:
        for relative, template in sorted(template_files(kind).items(), key=lambda item: _listing_order(item[0])):
            relative, text = _fill(relative, values), _fill(template, values)
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(root / relative)
        staging.rename(root)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return written


def template_files(kind: str) -> dict[str, str]:
    """The skeleton of ``kind`` with its placeholders: text by path in the package (``/``-separated)."""
    from importlib import resources  # some 50 ms: only for the command that needs it

    templates = resources.files("textseq") / "templates" / "plugin"
    files: dict[str, str] = {}
    for folder in (_COMMON, kind):
        for relative, text in _walk(templates / folder):
            files[relative] = files.get(relative, "") + text
    return files


def _walk(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path under ``folder``, text) of each file below it; bytecode an install compiled is no template."""
    for entry in folder.iterdir():
        if entry.name == "__pycache__" or entry.name.endswith(".pyc"):
            continue
        if entry.is_dir():
            yield from _walk(entry, f"{prefix}{entry.name}/")
        else:
            yield f"{prefix}{entry.name}", entry.read_text(encoding="utf-8")


def _listing_order(relative: str) -> tuple[bool, bool, str]:
    """The package's own files first (pyproject.toml, README.md), then its module, then its tests."""
    folder = relative.rpartition("/")[0]
    return bool(folder), folder == "tests", relative.lower()


def _requirements(kind: str) -> list[str]:
    """The new plugin's dependencies: the textseq it is made with, up to the next major version,
    and torch for the kinds whose skeleton is a network."""
    textseq = f"textseq>={__version__},<{int(__version__.split('.')[0]) + 1}"
    return [textseq, "torch>=2.1"] if kind in _NETWORK_KINDS else [textseq]


def _fill(template: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template

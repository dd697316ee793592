"""The plugin manager: built-ins first, then the entry points of installed distributions.

A plugin that fails to import, or raises while registering, costs one warning line on stderr and
is skipped; everything else keeps working. ``TEXTSEQ_STRICT_PLUGINS=1`` turns that warning into a
fatal error, ``TEXTSEQ_LOAD_PLUGINS=a,b`` loads only the named third-party plugins (by entry-point
or distribution name; empty: none), and ``TEXTSEQ_TRACE_PLUGINS=1`` prints every hook call.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from textseq import __version__, hookspecs
from textseq.console import Console
from textseq.errors import PluginError
from textseq.registry import KINDS, Registration, Registry

if TYPE_CHECKING:
    import click

BUILTIN_PLUGINS: tuple[str, ...] = ("textseq.builtins.tokenizers", "textseq.builtins.smoothers", "textseq.builtins.embedders",
                                    "textseq.builtins.architectures")
"""Modules of the built-in plugins, registered through the same hooks as third-party ones."""

_TRUE = {"1", "true", "yes", "on"}


@dataclass
class PluginInfo:
    """What ``textseq plugins`` shows for one plugin."""

    name: str
    version: str
    builtin: bool
    distribution: str | None
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)


class Plugins:
    """The loaded plugins and, on demand, the registries their hooks fill."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        strict: bool | None = None,
        only: Iterable[str] | None = None,
        load_entry_points: bool = True,
        trace: bool | None = None,
    ) -> None:
        self.console = console if console is not None else Console()
        env = os.environ
        self.strict = env.get("TEXTSEQ_STRICT_PLUGINS", "").lower() in _TRUE if strict is None else strict
        self.trace = env.get("TEXTSEQ_TRACE_PLUGINS", "").lower() in _TRUE if trace is None else trace
        if only is None and "TEXTSEQ_LOAD_PLUGINS" in env:
            only = [n.strip() for n in env["TEXTSEQ_LOAD_PLUGINS"].split(",") if n.strip()]
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self._info: dict[str, PluginInfo] = {}
        self._registries: dict[str, Registry] = {}
        self._commands: dict[str, str] = {}
        for module_name in BUILTIN_PLUGINS:
            self.add(importlib.import_module(module_name), "textseq." + module_name.rsplit(".", 1)[-1], builtin=True)
        if load_entry_points:
            self._load_entry_points(set(only) if only is not None else None)

    # loading -------------------------------------------------------------------------------

    def add(self, plugin: ModuleType | object, name: str, *, builtin: bool = False, version: str | None = None, distribution: str | None = None) -> None:
        """Register a plugin object (a module or any object with hookimpls) under ``name``."""
        if name in self._info:
            other = self._info[name]
            where = f"distribution '{other.distribution}'" if other.distribution else "textseq itself"
            self._fail(f"plugin name '{name}' is used twice (already taken by {where})", name)
            return
        try:
            self.manager.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            self._fail(f"plugin '{name}' cannot be registered: {exc}", name)
            return
        hooks = sorted(caller.name for caller in self.manager.get_hookcallers(plugin) or [])
        self._info[name] = PluginInfo(
            name=name,
            version=__version__ if builtin else (version or "unknown"),
            builtin=builtin,
            distribution=None if builtin else distribution,
            hooks=hooks,
        )
        self._registries.clear()

    def remove(self, name: str) -> None:
        """Unregister a plugin (for tests that add one for a while)."""
        plugin = self.manager.get_plugin(name)
        if plugin is not None:
            self.manager.unregister(plugin, name=name)
        self._info.pop(name, None)
        self._registries.clear()

    def _load_entry_points(self, only: set[str] | None) -> None:
        seen: set[str] = set()
        for entry_point in metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP):
            dist = entry_point.dist
            dist_name = dist.name if dist is not None else None
            if only is not None and entry_point.name not in only and dist_name not in only:
                continue
            seen.update({entry_point.name, dist_name or ""})
            try:
                plugin = entry_point.load()
            except Exception as exc:  # noqa: BLE001 - any failure of a plugin is isolated
                self._fail(f"plugin '{entry_point.name}' failed to load: {_describe(exc)}", entry_point.name)
                continue
            self.add(plugin, entry_point.name, version=dist.version if dist is not None else None, distribution=dist_name)
        for missing in sorted((only or set()) - seen):
            self._fail(f"plugin '{missing}' named in TEXTSEQ_LOAD_PLUGINS is not installed", missing)

    def _fail(self, message: str, plugin: str) -> None:
        if self.strict:
            raise PluginError(message + " (TEXTSEQ_STRICT_PLUGINS is set)")
        self.console.warn(message + "; skipped")

    # registries ----------------------------------------------------------------------------

    def _call_each(self, hook_name: str, make_kwargs: Callable[[str], dict[str, Any]], on_success: Callable[[str], None], on_failure: Callable[[str], None]) -> None:
        """Call ``hook_name`` on each plugin separately, so that one plugin's failure is its own."""
        caller = getattr(self.manager.hook, hook_name)
        for impl in caller.get_hookimpls():  # in registration order
            kwargs = make_kwargs(impl.plugin_name)
            if self.trace:
                self.console.stream.write(f"textseq: trace: {impl.plugin_name}.{hook_name}({', '.join(kwargs)})\n")
            try:
                impl.function(**kwargs)
            except PluginError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of a plugin is isolated
                on_failure(impl.plugin_name)
                self._fail(f"plugin '{impl.plugin_name}' failed in {hook_name}: {_describe(exc)}", impl.plugin_name)
                continue
            on_success(impl.plugin_name)

    def registry(self, kind: str) -> Registry:
        """All parts of ``kind`` ('tokenizer', 'smoother', 'embedder', 'architecture')."""
        if kind in self._registries:
            return self._registries[kind]
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        registry = Registry(kind)
        pending: dict[str, list[Registration]] = {}

        def make_kwargs(plugin_name: str) -> dict[str, Any]:
            batch = pending.setdefault(plugin_name, [])

            def register(name: str, implementation: Any, *, help: str = "", **metadata: Any) -> None:  # noqa: A002
                if not isinstance(name, str) or not name or any(c.isspace() for c in name):
                    raise ValueError(f"{kind} name must be a non-empty string without spaces, not {name!r}")
                batch.append(Registration(kind, name, implementation, plugin_name, help, metadata))

            return {"register": register}

        def commit(plugin_name: str) -> None:
            for registration in pending.pop(plugin_name, []):
                registry.add(registration)

        self._call_each(KINDS[kind], make_kwargs, commit, lambda name: pending.pop(name, None))
        self._registries[kind] = registry
        return registry

    def add_commands(self, cli: click.Group) -> None:
        """Let each plugin add its commands to ``cli``; a name clash is an error naming both."""
        import click

        owners = {name: "textseq" for name in cli.commands}
        staging: dict[str, click.Group] = {}

        def make_kwargs(plugin_name: str) -> dict[str, Any]:
            staging[plugin_name] = click.Group(name=cli.name)
            return {"cli": staging[plugin_name]}

        def commit(plugin_name: str) -> None:
            for name, command in staging.pop(plugin_name).commands.items():
                if name in owners:
                    raise PluginError(f"command '{name}' is registered by two plugins: '{owners[name]}' and '{plugin_name}'")
                owners[name] = plugin_name
                self._commands[name] = plugin_name
                cli.add_command(command, name)

        self._call_each("register_commands", make_kwargs, commit, lambda name: staging.pop(name, None))

    # listing -------------------------------------------------------------------------------

    def info(self, name: str) -> PluginInfo:
        """The loaded plugin ``name`` (``KeyError`` if none)."""
        return self._info[name]

    def infos(self) -> list[PluginInfo]:
        """Every loaded plugin with what it registered (runs every registration hook)."""
        for info in self._info.values():
            info.registered = {}
        for kind in KINDS:
            for registration in self.registry(kind):
                self._info[registration.plugin].registered.setdefault(kind + "s", []).append(registration.name)
        for command, plugin in sorted(self._commands.items()):
            self._info[plugin].registered.setdefault("commands", []).append(command)
        return sorted(self._info.values(), key=lambda i: (not i.builtin, i.name))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


_plugins: Plugins | None = None


def get_plugins(console: Console | None = None) -> Plugins:
    """The process-wide plugin manager, loaded on first use."""
    global _plugins
    if _plugins is None:
        _plugins = Plugins(console)
    return _plugins


def set_plugins(plugins: Plugins | None) -> None:
    """Replace the process-wide plugin manager (tests)."""
    global _plugins
    _plugins = plugins

"""The plugin manager: built-ins first, then the entry points of installed distributions.

No plugin can take textseq down. One that fails to import, or raises while registering (any
exception, ``SystemExit`` included; only Ctrl-C goes through), costs one warning line on stderr
and is skipped; a name that a plugin registers after another plugin took it is skipped with a
warning naming both, and the first keeps it; a registered part that raises while in use ends the
command with one error line naming the plugin (:func:`plugin_failure`). Everything else keeps
working. ``TEXTSEQ_STRICT_PLUGINS=1`` turns each warning into a fatal error and lets a part's
exception through with its traceback, ``TEXTSEQ_LOAD_PLUGINS=a,b`` loads only the named
third-party plugins (by entry-point or distribution name; empty: none), and
``TEXTSEQ_TRACE_PLUGINS=1`` prints every hook call.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from textseq import __version__, hookspecs
from textseq.console import Console
from textseq.errors import PluginError
from textseq.registry import KINDS, Registration, Registry

if TYPE_CHECKING:
    import click

BUILTIN_PLUGINS: tuple[str, ...] = (
    "textseq.builtins.tokenizers",
    "textseq.builtins.smoothers",
    "textseq.builtins.embedders",
    "textseq.builtins.architectures",
    "textseq.builtins.classifiers",
)
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


@dataclass(frozen=True)
class _Origin:
    """Where a third-party plugin's code lives: the package (or module) its hooks come from, by
    name and by file, so that a frame of a traceback can be told to be the plugin's."""

    module: str
    path: str | None

    def owns(self, frame: FrameType) -> bool:
        name = frame.f_globals.get("__name__")
        if isinstance(name, str) and (name == self.module or name.startswith(self.module + ".")):
            return True
        filename = frame.f_code.co_filename
        return self.path is not None and (filename == self.path or filename.startswith(self.path + os.sep))


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
        self._origins: dict[str, _Origin] = {}
        self._registries: dict[str, Registry] = {}
        self._commands: dict[str, str] = {}
        self._warned: set[str] = set()
        for module_name in BUILTIN_PLUGINS:
            self.add(importlib.import_module(module_name), "textseq." + module_name.rsplit(".", 1)[-1], builtin=True)
        if load_entry_points:
            self._load_entry_points(set(only) if only is not None else None)

    # loading -------------------------------------------------------------------------------

    def add(
        self, plugin: ModuleType | object, name: str, *, builtin: bool = False, version: str | None = None, distribution: str | None = None
    ) -> None:
        """Register a plugin object (a module or any object with hookimpls) under ``name``.

        A name taken already, or an object registered already under another name, is refused
        (a warning naming both plugins' distributions) and the first registration stays."""
        newcomer = _provenance(builtin, distribution, version)
        if name in self._info:
            self._fail(f"plugin name '{name}' is claimed by {self._provenance_of(name)} and by {newcomer}", "the second is skipped")
            return
        first = self.manager.get_name(plugin)
        if first is not None:
            self._fail(
                f"plugin '{name}' of {newcomer} is {_object_name(plugin)}, which plugin '{first}' of "
                f"{self._provenance_of(first)} registered already",
                "the second is skipped",
            )
            return
        try:
            self.manager.register(plugin, name=name)
            hooks = sorted(caller.name for caller in self.manager.get_hookcallers(plugin) or [])
        except BaseException as exc:  # noqa: BLE001 - any failure of a plugin is isolated, but Ctrl-C
            _reraise_interrupt(exc)
            if self.manager.get_plugin(name) is not None:
                self.manager.unregister(name=name)
            self._fail(
                f"plugin '{name}' cannot be registered: {_describe(exc, whole=isinstance(exc, pluggy.PluginValidationError))}", "skipped"
            )
            return
        self._info[name] = PluginInfo(
            name=name,
            version=__version__ if builtin else (version or "unknown"),
            builtin=builtin,
            distribution=None if builtin else distribution,
            hooks=hooks,
        )
        self._set_origin(name, None if builtin else _module_of(plugin))
        self._registries.clear()

    def remove(self, name: str) -> None:
        """Unregister a plugin (for tests that add one for a while)."""
        plugin = self.manager.get_plugin(name)
        if plugin is not None:
            self.manager.unregister(plugin, name=name)
        self._info.pop(name, None)
        self._origins.pop(name, None)
        self._registries.clear()

    def _load_entry_points(self, only: set[str] | None) -> None:
        seen: set[str] = set()
        for entry_point in self._entry_points():
            dist_name, version = _distribution_of(entry_point)
            if only is not None and entry_point.name not in only and dist_name not in only:
                continue
            seen.update({entry_point.name, dist_name or ""})
            try:
                plugin = entry_point.load()
            except BaseException as exc:  # noqa: BLE001 - any failure of a plugin is isolated, but Ctrl-C
                _reraise_interrupt(exc)
                self._fail(f"plugin '{entry_point.name}' failed to load: {_describe(exc)}", "skipped")
                continue
            self.add(plugin, entry_point.name, version=version, distribution=dist_name)
            if self.manager.get_plugin(entry_point.name) is plugin:  # its code is where the entry point says
                self._set_origin(entry_point.name, entry_point.module)
        for missing in sorted((only or set()) - seen):
            self._fail(f"plugin '{missing}' named in TEXTSEQ_LOAD_PLUGINS is not installed", "skipped")

    def _entry_points(self) -> list[metadata.EntryPoint]:
        """The entry points of the ``textseq`` group; where one distribution's metadata cannot be
        read, that distribution alone is skipped (with a warning), not every plugin."""
        try:
            return list(metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP))
        except Exception:  # noqa: BLE001 - find the distribution at fault below
            return self._readable_entry_points()

    def _readable_entry_points(self) -> list[metadata.EntryPoint]:
        found: list[metadata.EntryPoint] = []
        names: set[str] = set()
        for dist in metadata.distributions():
            try:
                name = _normalized(dist.name or "")
                points = list(dist.entry_points.select(group=hookspecs.ENTRY_POINT_GROUP))
            except Exception as exc:  # noqa: BLE001 - one unreadable distribution is its own problem
                self._fail(f"the installed distribution at {_location(dist)} has metadata that cannot be read: {_describe(exc)}", "skipped")
                continue
            if name and name in names:  # an earlier copy on sys.path shadows this one, as for imports
                continue
            names.add(name)
            found.extend(points)
        return found

    def _set_origin(self, name: str, module_name: str | None) -> None:
        origin = None if module_name is None else _origin(module_name)
        if origin is None:
            self._origins.pop(name, None)
        else:
            self._origins[name] = origin

    def _provenance_of(self, name: str) -> str:
        info = self._info[name]
        return _provenance(info.builtin, info.distribution, None if info.version == "unknown" else info.version)

    def _fail(self, message: str, outcome: str) -> None:
        """Warn once about a plugin's fault and say what textseq does about it (``outcome``), or, in
        strict mode, stop with the fault."""
        if self.strict:
            raise PluginError(message + " (TEXTSEQ_STRICT_PLUGINS is set)")
        line = f"{message}; {outcome}"
        if line not in self._warned:
            self._warned.add(line)
            self.console.warn(line)

    # registries ----------------------------------------------------------------------------

    def _call_each(
        self,
        hook_name: str,
        make_kwargs: Callable[[str], dict[str, Any]],
        on_success: Callable[[str], None],
        on_failure: Callable[[str], object],
    ) -> None:
        """Call ``hook_name`` on each plugin separately, so that one plugin's failure is its own."""
        caller = getattr(self.manager.hook, hook_name)
        for impl in caller.get_hookimpls():  # in registration order
            kwargs = {key: value for key, value in make_kwargs(impl.plugin_name).items() if key in impl.argnames}
            if self.trace:
                self.console.stream.write(f"textseq: trace: {impl.plugin_name}.{hook_name}({', '.join(kwargs)})\n")
            try:
                impl.function(**kwargs)
            except BaseException as exc:  # noqa: BLE001 - any failure of a plugin is isolated, but Ctrl-C
                _reraise_interrupt(exc)
                on_failure(impl.plugin_name)
                self._fail(f"plugin '{impl.plugin_name}' failed in {hook_name}: {_describe(exc)}", "skipped")
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

            def register(name: str, implementation: Any, *, help: str = "", **metadata: Any) -> None:
                _check_registration(kind, name, implementation, help, metadata)
                batch.append(Registration(kind, name, implementation, plugin_name, help, metadata))

            return {"register": register}

        def commit(plugin_name: str) -> None:
            for registration in pending.pop(plugin_name, []):
                try:
                    registry.add(registration)
                except PluginError as clash:
                    keeper = registry.get(registration.name).plugin
                    self._fail(clash.message, "the first is used" if keeper == plugin_name else f"the one from '{keeper}' is used")

        self._call_each(KINDS[kind], make_kwargs, commit, lambda name: pending.pop(name, None))
        self._registries[kind] = registry
        return registry

    def add_commands(self, cli: click.Group) -> None:
        """Let each plugin add its commands to ``cli``; a command named like one already there is
        skipped with a warning naming both plugins."""
        import click

        owners = dict.fromkeys(cli.commands, "textseq")
        staging: dict[str, click.Group] = {}

        def make_kwargs(plugin_name: str) -> dict[str, Any]:
            staging[plugin_name] = click.Group(name=cli.name)
            return {"cli": staging[plugin_name]}

        def commit(plugin_name: str) -> None:
            for name, command in staging.pop(plugin_name).commands.items():
                if name in owners:
                    self._fail(
                        f"command '{name}' is registered by two plugins: '{owners[name]}' and '{plugin_name}'",
                        f"the one from '{owners[name]}' is used",
                    )
                    continue
                owners[name] = plugin_name
                self._commands[name] = plugin_name
                cli.add_command(command, name)

        self._call_each("register_commands", make_kwargs, commit, lambda name: staging.pop(name, None))

    # faults in use -------------------------------------------------------------------------

    def blame(self, exc: BaseException) -> str | None:
        """The third-party plugin whose code raised ``exc``: the one that owns the innermost frame
        of its traceback that any third-party plugin owns; named by distribution and version where
        known, else by plugin name. None when no plugin's code is on the traceback."""
        culprit = None
        traceback = exc.__traceback__
        while traceback is not None:
            owner = next((name for name, origin in self._origins.items() if origin.owns(traceback.tb_frame)), None)
            culprit = owner or culprit
            traceback = traceback.tb_next
        if culprit is None:
            return None
        info = self._info[culprit]
        if info.distribution is None:
            return culprit
        return info.distribution if info.version == "unknown" else f"{info.distribution} {info.version}"

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


def _check_registration(kind: str, name: object, implementation: object, help: object, metadata: Mapping[str, object]) -> None:
    """Refuse, while the plugin's hook runs (so the plugin is skipped), a registration that would
    fail later inside textseq, far from the plugin's code."""
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        raise ValueError(f"{kind} name must be a non-empty string without spaces, not {name!r}")
    if not callable(implementation):
        raise TypeError(f"{kind} '{name}': the implementation must be callable (a class or factory), not {implementation!r}")
    if not isinstance(help, str):
        raise TypeError(f"{kind} '{name}': help must be a string, not {help!r}")
    for key in ("default_config", "train_defaults"):
        value = metadata.get(key)
        if value is not None and not isinstance(value, Mapping):
            raise TypeError(f"{kind} '{name}': {key} must be a dict, not {value!r}")


def _reraise_interrupt(exc: BaseException) -> None:
    """Let Ctrl-C (and SIGTERM, raised as one) through: it is the user's, not the plugin's."""
    if isinstance(exc, KeyboardInterrupt):
        raise exc


def _describe(exc: BaseException, *, whole: bool = False) -> str:
    """``Type: message`` on one line: the message's first line, or all its lines joined (``whole``)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return f"{type(exc).__name__}: {'; '.join(lines) if whole else lines[0]}"


def _provenance(builtin: bool, distribution: str | None, version: str | None) -> str:
    """Where a plugin comes from, for messages: ``textseq itself``, ``distribution 'x' 1.0``."""
    if builtin:
        return "textseq itself"
    if distribution is None:
        return "a plugin of no distribution"
    return f"distribution '{distribution}'" + (f" {version}" if version else "")


def _distribution_of(entry_point: metadata.EntryPoint) -> tuple[str | None, str | None]:
    """The name and version of the distribution that declares ``entry_point``, each None where
    its metadata does not say (or cannot be read)."""
    dist = entry_point.dist
    if dist is None:
        return None, None
    try:
        return _text_or_none(dist.name), _text_or_none(dist.version)
    except Exception:  # noqa: BLE001 - unreadable metadata leaves the plugin nameless, not textseq down
        return None, None


def _text_or_none(value: object) -> str | None:
    """A metadata field on one line, or None where it is missing or empty."""
    return (" ".join(value.split()) or None) if isinstance(value, str) else None


def _normalized(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _location(dist: metadata.Distribution) -> str:
    path = getattr(dist, "_path", None)  # PathDistribution's folder; other finders may have none
    return str(path) if path is not None else repr(dist)


def _object_name(plugin: object) -> str:
    if isinstance(plugin, ModuleType):
        return f"the module {plugin.__name__}"
    return f"the object {type(plugin).__name__}"


def _module_of(plugin: object) -> str:
    """The module that defines ``plugin`` (a module, a class, a function or an instance)."""
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    try:
        module = getattr(plugin, "__module__", None)
    except Exception:  # noqa: BLE001 - a plugin object's own __getattr__ may raise anything
        module = None
    return module if isinstance(module, str) else type(plugin).__module__


def _origin(module_name: str) -> _Origin | None:
    """Where the code of a plugin defined in ``module_name`` lives: its top-level package, all of
    which its distribution ships. None for a module of textseq's own package, of the standard
    library or ``__main__``, whose frames are never a plugin's to answer for."""
    prefix = module_name.partition(".")[0]
    if not prefix or prefix in ("textseq", "__main__") or prefix in sys.stdlib_module_names:
        return None
    module = sys.modules.get(prefix)
    path = getattr(module, "__file__", None)
    if isinstance(path, str) and getattr(module, "__path__", None) is not None:
        path = os.path.dirname(path)
    return _Origin(prefix, path if isinstance(path, str) else None)


_plugins: Plugins | None = None


def get_plugins(console: Console | None = None) -> Plugins:
    """The process-wide plugin manager, loaded on first use; ``console`` (the current command's)
    is where what it has to say from now on goes, so that a second :func:`textseq.cli.run` in one
    process does not report to the first one's console."""
    global _plugins  # noqa: PLW0603 - the one process-wide manager
    if _plugins is None:
        _plugins = Plugins(console)
    elif console is not None:
        _plugins.console = console
    return _plugins


def set_plugins(plugins: Plugins | None) -> None:
    """Replace the process-wide plugin manager (tests)."""
    global _plugins  # noqa: PLW0603 - the one process-wide manager
    _plugins = plugins


def blame(exc: BaseException) -> str | None:
    """The third-party plugin of the process-wide manager whose code raised ``exc`` (see
    :meth:`Plugins.blame`); None when none did or no plugins are loaded."""
    return None if _plugins is None else _plugins.blame(exc)


def plugin_failure(exc: BaseException) -> str | None:
    """The one line that reports ``exc`` as a plugin's failure, or None when no plugin raised it
    or TEXTSEQ_STRICT_PLUGINS is set (so that the plugin's author sees the traceback)."""
    if _plugins is None or _plugins.strict:
        return None
    culprit = _plugins.blame(exc)
    return None if culprit is None else f"plugin '{culprit}' failed: {_describe(exc)}"

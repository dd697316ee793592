"""Name -> implementation lookups, filled by the plugin hooks."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from textseq.errors import ParameterError, PluginError, UnknownNameError

KINDS: Mapping[str, str] = {
    "tokenizer": "register_tokenizers",
    "smoother": "register_smoothers",
    "embedder": "register_embedders",
    "architecture": "register_architectures",
    "classifier": "register_classifiers",
}
"""Each kind of named part kept in a :class:`Registry`, and the hook that registers it.

Commands are not among them: ``register_commands`` hands a plugin the click group itself, and a
command is found by click, never looked up here by name (``textseq plugins new`` offers the kinds
here and ``command``)."""

Part = TypeVar("Part")


class LazyFactory(Generic[Part]):
    """A factory that imports its part's module only when it is called (or its signature asked
    for): ``LazyFactory(load)``, where ``load()`` imports and returns the class or function that
    makes the part. Registering it costs no import of numpy or numba, so listing the plugins stays
    quick, and its signature is the part's, which :meth:`Registry.build` checks options against."""

    def __init__(self, load: Callable[[], Callable[..., Part]]) -> None:
        self._load = load

    def __call__(self, **options: Any) -> Part:
        return self._load()(**options)

    @property
    def __signature__(self) -> inspect.Signature:
        try:
            return inspect.signature(self._load())
        except ImportError:  # the call will meet it too, and Registry.build reports it there
            return inspect.Signature([inspect.Parameter("options", inspect.Parameter.VAR_KEYWORD)])


@dataclass(frozen=True)
class Registration:
    """One named part and the plugin it came from."""

    kind: str
    name: str
    implementation: Any
    plugin: str
    help: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


class Registry:
    """The parts of one kind, by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Registration] = {}

    def add(self, registration: Registration) -> None:
        previous = self._entries.get(registration.name)
        if previous is not None:
            if previous.plugin == registration.plugin:
                raise PluginError(f"plugin '{registration.plugin}' registers {self.kind} '{registration.name}' twice")
            raise PluginError(
                f"{self.kind} '{registration.name}' is registered by two plugins: "
                f"'{previous.plugin}' and '{registration.plugin}'; uninstall one of them"
            )
        self._entries[registration.name] = registration

    def get(self, name: str) -> Registration:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise UnknownNameError(f"unknown {self.kind} '{name}' (known: {known})") from None

    def build(self, name: str, options: Mapping[str, Any] | None = None, *, parameter: str | None = None) -> Any:
        """The part ``name`` made by its factory with the user's ``options``: the one place where a
        factory's complaints become :class:`ParameterError` (an unknown name, options it does
        not take, a value it refuses, a package it needs that is missing). ``parameter`` is the
        caller's parameter that chose the name."""
        factory = self.get(name).implementation
        options = dict(options or {})
        try:
            signature = inspect.signature(factory)
        except (TypeError, ValueError):  # a builtin or C extension: let the call say it
            signature = None
        if signature is not None:
            try:
                signature.bind(**options)
            except TypeError:
                accepted = [p for p in signature.parameters if p not in ("self", "args", "kwargs", "options", "_")]
                raise ParameterError(
                    f"{self.kind} '{name}' does not take the options given ({', '.join(sorted(options))}); "
                    f"it takes: {', '.join(accepted) or 'none'}",
                    parameter=parameter,
                ) from None
        try:
            return factory(**options)
        except ImportError as exc:
            raise ParameterError(
                f"{self.kind} '{name}' needs {exc.name or 'a package that is missing'}: pip install {exc.name or 'it'}", parameter=parameter
            ) from None
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"{self.kind} '{name}': {exc}", parameter=parameter) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Registration]:
        return iter(sorted(self._entries.values(), key=lambda r: r.name))

    def __len__(self) -> int:
        return len(self._entries)

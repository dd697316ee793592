"""A registered part that a saved model names: found again when the model is opened, or one clear
message naming the plugin to install; and the plugin a model records when it is saved."""

from __future__ import annotations

from typing import Any

from textseq.errors import InputError, UnknownNameError
from textseq.registry import Registration


def registered_part(kind: str, name: str, *, source: str | None = None, origin: dict[str, Any] | None = None) -> Registration:
    """The registration of the ``kind`` ``name``. ``source`` (a model file's path) and ``origin``
    (the plugin it recorded, see :func:`part_origin`) make a missing one say what to install."""
    from textseq.plugins import get_plugins

    try:
        return get_plugins().registry(kind).get(name)
    except UnknownNameError as exc:
        if source is None:
            raise
        origin = origin or {}
        distribution = origin.get("distribution")
        if distribution:
            version = f" {origin['version']}" if origin.get("version") else ""
            raise InputError(
                f"{kind} '{name}' comes from the plugin {distribution}{version}, which is not installed here: pip install {distribution}",
                source=source,
            ) from None
        raise InputError(
            f"{exc}: the model was made with a {kind} from a plugin that is not installed "
            f"here; install the plugin that registers '{name}' (see 'textseq plugins')",
            source=source,
        ) from None


def part_origin(kind: str, name: str) -> dict[str, str | None] | None:
    """The third-party plugin that registers the ``kind`` ``name`` (entry point, distribution,
    version), which a saved model records so that opening it without the plugin names what to
    install; None for a built-in."""
    from textseq.plugins import get_plugins

    plugins = get_plugins()
    info = plugins.info(plugins.registry(kind).get(name).plugin)
    if info.builtin:
        return None
    return {"plugin": info.name, "distribution": info.distribution, "version": info.version}

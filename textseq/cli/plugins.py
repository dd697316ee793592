"""``textseq plugins``: what each plugin registered, the requirements that reinstall them, and
``textseq plugins new``, the skeleton of a new one."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from textseq.cli.common import App, DefaultCommand, DefaultGroup, echo_json, json_option, pass_app
from textseq.errors import InputError
from textseq.plugin_template import KINDS


@click.command(
    "plugins",
    cls=DefaultCommand,
    epilog="""\b
Examples:
  textseq plugins
  textseq plugins --json | jq '.[].name'
  textseq plugins --requirements > plugins.txt      # elsewhere: pip install -r plugins.txt
  TEXTSEQ_LOAD_PLUGINS= textseq plugins             # built-ins only
  textseq plugins new textseq-shout --kind tokenizer""",
)
@json_option
@click.option("--requirements", is_flag=True, help="Print 'distribution==version' of each installed plugin, for pip install -r.")
@pass_app
def plugins_command(app: App, as_json: bool, requirements: bool) -> None:
    """List the plugins, built-in and installed, with their version, hooks and what they registered.

    Third-party plugins are found through the 'textseq' entry-point group. TEXTSEQ_LOAD_PLUGINS=a,b
    loads only those; TEXTSEQ_STRICT_PLUGINS=1 makes a broken plugin fatal instead of a warning
    (and shows the traceback of a plugin's part that fails in use); TEXTSEQ_TRACE_PLUGINS=1
    prints each hook call on stderr.
    """
    from textseq.plugins import get_plugins

    if as_json and requirements:
        raise click.UsageError("--json and --requirements are two listings: give one")
    infos = get_plugins().infos()
    if requirements:
        pins = sorted({f"{info.distribution}=={info.version}" for info in infos if not info.builtin and info.distribution})
        app.stdout.write("".join(pin + "\n" for pin in pins).encode("utf-8"))
        return
    if as_json:
        echo_json(app, [asdict(info) for info in infos])
        return
    lines = []
    for info in infos:
        origin = "built-in" if info.builtin else f"from {info.distribution}"
        lines.append(f"{info.name} {info.version} ({origin})")
        lines.append(f"  hooks: {', '.join(info.hooks) or 'none'}")
        for kind, names in sorted(info.registered.items()):
            lines.append(f"  {kind}: {', '.join(names)}")
    app.stdout.write(("\n".join(lines) + "\n").encode("utf-8"))


@click.command(
    "new",
    epilog="""\b
Examples:
  textseq plugins new textseq-shout --kind tokenizer
  cd textseq-shout && pip install -e '.[test]' && python -m pytest && textseq plugins""",
)
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="What the plugin registers.")
@click.option(
    "-C", "--directory", type=click.Path(file_okay=False), default=".", show_default=True, help="Where to write the package folder."
)
@pass_app
def new_command(app: App, name: str, kind: str, directory: str) -> None:
    """Write the skeleton of a plugin package NAME, textseq-SOMETHING (e.g. textseq-shout):
    pyproject.toml with the entry point, a hook implementation that works, a test that needs
    nothing installed, a README. The part it registers is named SOMETHING. NAME cannot be one of
    textseq's own distributions (textseq, textseq-moses, textseq-transformer)."""
    from textseq.plugin_template import write_plugin

    try:
        written = write_plugin(name, kind, Path(directory))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    except FileExistsError as exc:
        raise InputError(f"{exc}: choose another name or folder (nothing was written)") from None
    for path in written:
        app.stdout.write(f"{path}\n".encode())
    app.console.info(f"next: cd {Path(directory) / name} && pip install -e '.[test]' && python -m pytest")


plugins_group = DefaultGroup("plugins", default=plugins_command, commands={"new": new_command})

"""``textseq plugins``: what each plugin registered."""

from __future__ import annotations

from dataclasses import asdict

import click

from textseq.cli.common import App, echo_json, json_option, pass_app


@click.command(
    "plugins",
    epilog="""\b
Examples:
  textseq plugins
  textseq plugins --json | jq '.[].name'
  TEXTSEQ_LOAD_PLUGINS= textseq plugins      # built-ins only""",
)
@json_option
@pass_app
def plugins_command(app: App, as_json: bool) -> None:
    """List the plugins, built-in and installed, with their version, hooks and what they registered.

    Third-party plugins are found through the 'textseq' entry-point group. TEXTSEQ_LOAD_PLUGINS=a,b
    loads only those; TEXTSEQ_STRICT_PLUGINS=1 makes a broken plugin fatal instead of a warning.
    """
    from textseq.plugins import get_plugins

    infos = get_plugins().infos()
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

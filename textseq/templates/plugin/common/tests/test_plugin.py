"""The plugin registered in-process (nothing installed): the way to test a textseq plugin."""

from __future__ import annotations

import pytest

import __MODULE__.plugin
from textseq import Plugins, set_plugins


@pytest.fixture
def plugins():
    """textseq's plugin manager with the built-ins and this plugin only, for the test's duration."""
    manager = Plugins(load_entry_points=False)
    manager.add(__MODULE__.plugin, "__PART__")
    set_plugins(manager)
    yield manager
    set_plugins(None)

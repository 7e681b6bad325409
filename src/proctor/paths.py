"""Where proctor's own files are, computed in one place so that moving a module is safe."""

from __future__ import annotations

from pathlib import Path

#: The ``proctor`` package directory.
PACKAGE_DIR = Path(__file__).resolve().parent


def import_root() -> Path:
    """The directory that holds the ``proctor`` package (``src/`` or site-packages):
    what a sandbox binds so that the worker can import the engine."""
    return PACKAGE_DIR.parent


def checkout_root() -> Path | None:
    """The library checkout this package was installed from (editable install), if any:
    the folder with ``exercises/`` next to ``src/proctor``."""
    root = PACKAGE_DIR.parents[1]
    return root if (root / "exercises").is_dir() else None

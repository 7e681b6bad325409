"""One way to load the package's Jinja2 templates, so every page escapes the same way.

HTML pages autoescape (names, messages and notebook output are candidate-controlled);
text templates (Markdown, Python scaffolds) do not, and fail on an undefined name.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@cache
def templates(package: str, folder: str = "templates", *, html: bool = True) -> Environment:
    """The environment for ``<package>/<folder>``: autoescaped HTML, or strict text."""
    if html:
        return Environment(loader=PackageLoader(package, folder),
                           autoescape=select_autoescape(default=True, default_for_string=True))
    return Environment(loader=PackageLoader(package, folder), undefined=StrictUndefined,
                       keep_trailing_newline=True, autoescape=False)

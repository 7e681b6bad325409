"""report.html: the interviewer's reading of a report.json, rendered with Jinja2.

Autoescaping is on: messages and notebook output are candidate-controlled text.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from proctor.report import Report

_env = Environment(
    loader=PackageLoader("proctor", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def render(report: Report) -> str:
    return _env.get_template("report.html.j2").render(r=report.to_dict())


def write_html(report: Report, path: Path) -> None:
    path.write_text(render(report))

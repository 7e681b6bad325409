"""report.html: the interviewer's reading of a report.json, rendered with Jinja2.

Autoescaping is on: messages and notebook output are candidate-controlled text.
"""

from __future__ import annotations

from pathlib import Path

from proctor.report.model import Report
from proctor.templating import templates


def render(report: Report) -> str:
    return templates("proctor.report").get_template("report.html.j2").render(r=report.to_dict())


def write_html(report: Report, path: Path) -> None:
    path.write_text(render(report))

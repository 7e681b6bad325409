"""report.html: the interviewer's reading of a report.json, rendered with Jinja2.

Autoescaping is on: names, messages, notebook output and code are candidate-controlled.
The page's content is decided in ``view``; the templates only draw it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from proctor.report.model import Report
from proctor.report.view import report_view
from proctor.templating import templates


def render(report: Report, gradebook: str | None = None,
           flags: list[dict[str, Any]] | None = None) -> str:
    """The page; ``gradebook`` is the relative link back to the gradebook (None: no
    link), ``flags`` the similarity flags naming this submission."""
    page = templates("proctor.report").get_template("report.html.j2")
    return page.render(v=report_view(report, gradebook, flags), r=report.to_dict())


def write_html(report: Report, path: Path, gradebook: str | None = None,
               flags: list[dict[str, Any]] | None = None) -> None:
    path.write_text(render(report, gradebook, flags))

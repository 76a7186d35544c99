"""The manager's report: its figures as values, and the page that draws them.

:meth:`poolkit.PoolService.report` gives a :class:`PoolReport`; :func:`render_html` turns
one into a self-contained HTML page (inline CSS and SVG charts, no script, nothing fetched)
that ``poolkit report`` writes. A CRM that draws its own charts takes the values.
"""

from poolkit.report.figures import (
    INFLOW_KINDS,
    MAX_REPORT_DAYS,
    OUTFLOW_KINDS,
    DayFlow,
    DayForecast,
    GradeCount,
    PoolFigures,
    PoolReport,
    RepLoad,
    ReviewBacklog,
)
from poolkit.report.html import render_html

__all__ = [
    "INFLOW_KINDS",
    "MAX_REPORT_DAYS",
    "OUTFLOW_KINDS",
    "DayFlow",
    "DayForecast",
    "GradeCount",
    "PoolFigures",
    "PoolReport",
    "RepLoad",
    "ReviewBacklog",
    "render_html",
]

"""Bar charts through Altair, with the colours the pages share. Imported by the pages that draw
a chart (`from mgi_roster.ui import charts`), not by the package: Altair takes longer to import
than the first page takes to draw."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import altair as alt
import streamlit as st
from pandas.api.types import is_numeric_dtype

if TYPE_CHECKING:
    import pandas as pd

SEVERITY_COLOR = alt.Color(
    "severity:N", scale=alt.Scale(domain=["error", "warning"], range=["#d62728", "#ff9f0e"])
)
CHANGE_COLOR = alt.Color(
    "change:N",
    scale=alt.Scale(
        domain=["added", "updated", "archived", "restored", "absent"],
        range=["#2ca02c", "#1f77b4", "#d62728", "#9467bd", "#7f7f7f"],
    ),
)


def count_axis(field: str, title: str | None = None) -> alt.X:
    """A quantitative x axis for counts: whole numbers only."""
    return alt.X(field, title=title, axis=alt.Axis(tickMinStep=1, format="d"))


def bar_chart(
    frame: pd.DataFrame,
    *,
    x: Any,
    y: Any,
    color: Any = None,
    title: str | None = None,
    height: int | None = None,
    key: str | None = None,
) -> None:
    """A bar chart through Altair: x, y and color are shorthands ("issues:Q") or alt channels."""
    chart = alt.Chart(frame).mark_bar()
    # Typed tooltips: Altair cannot infer a type from an empty column (and warns)
    tooltip = [f"{c}:{'Q' if is_numeric_dtype(frame[c]) else 'N'}" for c in frame.columns]
    encoding: dict[str, Any] = {"x": x, "y": y, "tooltip": tooltip}
    if color:
        encoding["color"] = color
    chart = chart.encode(**encoding)
    if title:
        chart = chart.properties(title=title)
    if height:
        chart = chart.properties(height=height)
    st.altair_chart(chart, width="stretch", key=key)

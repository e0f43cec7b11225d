"""What the views' layouts share: labelled controls in wrapping rows, and the guard that draws a
heavy view only while its tab is open."""
from __future__ import annotations

import json

from dash import ctx, dcc, html
from dash.exceptions import PreventUpdate

from dse.fronts import value_text

GRAPH_CONFIG = {"displaylogo": False}
# Inline styles: an assets/ folder would be one more thing to ship as package data.
ROW_STYLE = {"display": "flex", "flexWrap": "wrap", "gap": "12px 24px", "alignItems": "flex-end",
             "margin": "12px 0"}
CONTROL_STYLE = {"minWidth": "140px"}
LOG_AXES = ["log x", "log y"]  # the plots' log-scale checklist


def control(text: str, component) -> html.Div:
    """A component under a bold label."""
    return html.Div([html.Label(text, style={"display": "block", "fontWeight": "bold"}),
                     component], className="control", style=CONTROL_STYLE)


def row(controls: list, extra_class: str = "") -> html.Div:
    """Controls side by side, wrapping on a narrow window."""
    return html.Div(controls, className=f"controls {extra_class}".strip(), style=ROW_STYLE)


def dropdown(id_: str, values: list, value, **kwargs) -> dcc.Dropdown:
    return dcc.Dropdown(id=id_, options=[{"label": value_text(v), "value": v} for v in values],
                        value=value, clearable=False, **kwargs)


def checklist(id_: str, values: list, ticked: list | None = None) -> dcc.Checklist:
    """Every value ticked at first, unless ``ticked`` says which."""
    return dcc.Checklist(id=id_, options=[{"label": value_text(v), "value": v} for v in values],
                         value=list(values if ticked is None else ticked), inline=True)


def prefer(values: list, *wanted):
    """The first of ``wanted`` found in values, else the first value (None when empty)."""
    for value in wanted:
        if value in values:
            return value
    return values[0] if values else None


def refuse_unoffered(*pairs) -> None:
    """PreventUpdate (HTTP 204, no work done) unless every ``(value, offered)`` pair holds one
    of the choices ``offered`` (a list).

    The browser sends a control's value, and a hand-made request may send anything (a
    2000 x 2000 array took 54 s of server time): each callback checks its inputs against the
    choices it built its controls from before computing."""
    for value, offered in pairs:
        if not _offered(value, offered):
            raise PreventUpdate


def refuse_unticked(*pairs) -> None:
    """``refuse_unoffered`` for checklists: each value is a list of offered choices."""
    for values, offered in pairs:
        # no longer than the choices: at most len(offered)^2 comparisons
        if not isinstance(values, list) or len(values) > len(offered) or not all(
                _offered(v, offered) for v in values):
            raise PreventUpdate


def _offered(value, offered) -> bool:
    # JSON gives str, int, float, bool, None, list or dict; choices are of the first kinds
    return not isinstance(value, (list, dict)) and value in offered


def drawn_key(view: str, tab: str, drawn, *values) -> str:
    """The heavy views draw only while their tab is open, and once per set of control values.

    Drawing the explorer's 10k points for a hidden tab would hold up the first page; raises
    PreventUpdate when the view is hidden or already shows these values.
    """
    key = json.dumps(values, default=str)
    if tab != view or (ctx.triggered_id == "tabs" and drawn == key):
        raise PreventUpdate
    return key

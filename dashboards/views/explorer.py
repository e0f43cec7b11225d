"""The design-space explorer: any two sweep columns, coloured by a third, filtered, with the
Pareto front of what is shown; lasso a selection into the table, export the front as CSV.

Nothing the browser sends names a file: the export is built in memory under a fixed name.
"""
from __future__ import annotations

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from accelsim.formats import metric_sense

from .. import figures, frames
from ..load import Results
from .controls import GRAPH_CONFIG, checklist, control, drawn_key, dropdown, prefer, row

TABLE_ROWS = 100
TABLE_COLUMNS = ("point_id", "model", "widen", "teacher", "rows", "cols", "dataflow", "wbits",
                 "abits", "top1_err_pct")
FILTERS = ("model", "widen", "teacher", "rows", "cols", "dataflow", "wbits", "abits")
TABLE_STYLE = {"borderCollapse": "collapse", "fontSize": "13px", "fontFamily": "monospace"}
# The controls that decide which points are shown and which of them form the front.
INPUTS = [Input("ex-x", "value"), Input("ex-y", "value"), Input("ex-x-sense", "value"),
          Input("ex-y-sense", "value")] + [Input(f"ex-{column}", "value") for column in FILTERS]
STATES = [State(i.component_id, i.component_property) for i in INPUTS]


def points_table(frame: pd.DataFrame, columns: list[str], caption: str) -> html.Div:
    """The first TABLE_ROWS rows of frame as an HTML table under a caption."""
    columns = [c for c in dict.fromkeys(columns) if c in frame.columns]
    body = frame[columns].head(TABLE_ROWS)
    more = f" (first {TABLE_ROWS} shown)" if len(frame) > TABLE_ROWS else ""

    def cell(value):
        if isinstance(value, float):
            return "" if pd.isna(value) else f"{value:.4g}"
        return str(value)

    return html.Div([
        html.P(f"{caption}: {len(frame):,} points{more}", id="ex-table-caption"),
        html.Table([html.Thead(html.Tr([html.Th(c) for c in columns])),
                    html.Tbody([html.Tr([html.Td(cell(v)) for v in values])
                                for values in body.itertuples(index=False)])],
                   className="points", style=TABLE_STYLE)])


def tab(results: Results) -> dcc.Tab:
    sweep = results.sweep
    metrics = frames.metric_columns(sweep) if len(sweep) else []
    colours = frames.colour_columns(sweep) if len(sweep) else []
    return dcc.Tab(label="Design-space explorer", value="explorer", children=[
        row([
            control("x", dropdown("ex-x", metrics, prefer(metrics, "area_mm2"))),
            control("x is better", dcc.RadioItems(id="ex-x-sense", options=["min", "max"],
                                                  value="min", inline=True)),
            control("y", dropdown("ex-y", metrics, prefer(metrics, "latency_ms"))),
            control("y is better", dcc.RadioItems(id="ex-y-sense", options=["min", "max"],
                                                  value="min", inline=True)),
            control("colour", dropdown("ex-colour", colours, prefer(colours, "wbits"))),
            control("axes", dcc.Checklist(id="ex-log", options=["log x", "log y"],
                                          value=["log x", "log y"], inline=True)),
        ]),
        row([control(column, checklist(f"ex-{column}", frames.options(sweep, column)))
             for column in FILTERS], "filters"),
        dcc.Graph(id="ex-graph", config=GRAPH_CONFIG, style={"height": "600px"}),
        dcc.Store(id="ex-drawn"),
        html.Button("Export Pareto CSV", id="ex-export"),
        dcc.Download(id="ex-download"),
        html.Div(id="ex-table"),
    ])


def register(app: Dash, results: Results) -> None:
    sweep = results.sweep

    def shown_and_front(x, y, x_sense, y_sense, *chosen):
        shown = frames.filter_sweep(sweep, dict(zip(FILTERS, chosen)))
        senses = {x: x_sense, y: y_sense}
        return shown, frames.explorer_front(shown, x, y, senses), senses

    def table_columns(x, y, colour):
        return list(TABLE_COLUMNS) + [x, y] + ([colour] if colour else [])

    @app.callback(Output("ex-x-sense", "value"), Input("ex-x", "value"))
    def _x_sense(x):
        return metric_sense(x) if x else no_update

    @app.callback(Output("ex-y-sense", "value"), Input("ex-y", "value"))
    def _y_sense(y):
        return metric_sense(y) if y else no_update

    @app.callback(Output("ex-graph", "figure"), Output("ex-table", "children"),
                  Output("ex-drawn", "data"), *INPUTS, Input("ex-colour", "value"),
                  Input("ex-log", "value"), Input("tabs", "value"), State("ex-drawn", "data"))
    def _explorer(x, y, x_sense, y_sense, *rest):
        *chosen, colour, logs, tab, drawn = rest
        key = drawn_key("explorer", tab, drawn, x, y, x_sense, y_sense, colour, logs, *chosen)
        if x is None or y is None or sweep.empty:
            return figures.empty_figure("No sweep to explore."), None, key
        shown, front, senses = shown_and_front(x, y, x_sense, y_sense, *chosen)
        logs = logs or []
        return (figures.explorer_figure(shown, front, x, y, colour, senses, "log x" in logs,
                                        "log y" in logs),
                points_table(front, table_columns(x, y, colour), "Pareto front"), key)

    @app.callback(Output("ex-table", "children", allow_duplicate=True),
                  Input("ex-graph", "selectedData"), *STATES, State("ex-colour", "value"),
                  prevent_initial_call=True)
    def _selection(selected, x, y, x_sense, y_sense, *rest):
        *chosen, colour = rest
        ids = frames.event_point_ids(selected)
        if ids:
            picked = sweep[sweep["point_id"].isin(ids)]
            return points_table(picked, table_columns(x, y, colour), "Selected")
        _, front, _ = shown_and_front(x, y, x_sense, y_sense, *chosen)
        return points_table(front, table_columns(x, y, colour), "Pareto front")

    @app.callback(Output("ex-download", "data"), Input("ex-export", "n_clicks"), *STATES,
                  prevent_initial_call=True)
    def _export(clicks, x, y, x_sense, y_sense, *chosen):
        if not clicks or sweep.empty:
            raise PreventUpdate
        _, front, _ = shown_and_front(x, y, x_sense, y_sense, *chosen)
        # A fixed name, and the text built here: the browser never names a file.
        return dict(content=front.to_csv(index=False), filename="pareto.csv",
                    type="text/csv", base64=False)

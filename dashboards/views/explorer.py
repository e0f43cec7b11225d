"""The design-space explorer: any two sweep columns, coloured by a third, filtered, with the
Pareto front of each group of what is shown (one data set when accuracy is an axis, one
workload otherwise: ``dse.fronts``); lasso a selection into the table, export the fronts as
CSV with the objectives, filters and ranks that made them.

Nothing the browser sends names a file: the export is built in memory under a fixed name.
"""
from __future__ import annotations

import pandas as pd
from dash import Dash, Input, Output, State, dash_table, dcc, html, no_update
from dash.dash_table.Format import Format, Scheme, Trim
from dash.exceptions import PreventUpdate

from accelsim.formats import metric_sense
from dse.fronts import OVERFLOW

from .. import figures, frames
from ..load import Results
from .controls import (GRAPH_CONFIG, LOG_AXES, checklist, control, drawn_key, prefer,
                       refuse_unoffered, refuse_unticked, row)

TABLE_COLUMNS = ("point_id", "dataset", "model", "width", "widen", "teacher", "rows", "cols",
                 "dataflow", "wbits", "abits", "quantizer", "top1_err_pct")
FRONT_COLUMNS = ("equal_points", "variants", "pareto_group", "pareto_rank")
FILTERS = ("dataset", "model", "width", "widen", "teacher", "rows", "cols", "dataflow", "wbits",
           "abits")
# One data set at a start: fronts never mix them, and nor should the first picture.
SINGLE_AT_START = {"dataset": "cifar10"}
AXIS_STYLE = {"width": "300px"}  # room for a label with its unit
TABLE_STYLE = dict(
    style_table={"overflowX": "auto"}, page_size=15, sort_action="native",
    style_cell={"padding": "4px 10px", "fontFamily": "sans-serif", "fontSize": "13px",
                "textAlign": "right", "whiteSpace": "normal", "height": "auto",
                "maxWidth": "320px"},
    style_cell_conditional=[{"if": {"column_id": c}, "textAlign": "left"}
                            for c in ("dataset", "model", "widen", "teacher", "dataflow",
                                      "quantizer", "variants", "pareto_group")]
    + [{"if": {"column_id": c}, "minWidth": "220px"} for c in ("variants", "pareto_group")],
    style_header={"fontWeight": "bold", "backgroundColor": "#f0f3f8"},
    style_data_conditional=[{"if": {"row_index": "odd"}, "backgroundColor": "#fafbfd"}])
NUMBER = Format(precision=4, scheme=Scheme.decimal_or_exponent, trim=Trim.yes)
# The controls that decide which points are shown and which of them form the fronts.
INPUTS = [Input("ex-x", "value"), Input("ex-y", "value"), Input("ex-x-sense", "value"),
          Input("ex-y-sense", "value")] + [Input(f"ex-{column}", "value") for column in FILTERS]
STATES = [State(i.component_id, i.component_property) for i in INPUTS]
SENSES = ["min", "max"]


def table_columns(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    """DataTable columns: labels with units, numbers to four significant digits."""
    out = []
    for column in dict.fromkeys(columns):
        if column not in frame.columns:
            continue
        spec = {"name": frames.label(column), "id": column}
        if pd.api.types.is_integer_dtype(frame[column]):
            spec.update(type="numeric")
        elif pd.api.types.is_numeric_dtype(frame[column]):
            spec.update(type="numeric", format=NUMBER)
        out.append(spec)
    return out


def table_data(frame: pd.DataFrame, columns: list[dict]) -> list[dict]:
    """The rows as JSON records (empty cells for NaN)."""
    body = frame[[c["id"] for c in columns]]
    return body.astype(object).where(body.notna(), None).to_dict("records")


def tab(results: Results) -> dcc.Tab:
    sweep = results.sweep
    metrics = frames.metric_columns(sweep) if len(sweep) else []
    colours = frames.colour_columns(sweep) if len(sweep) else []

    def axis(id_, value):
        return dcc.Dropdown(id=id_, options=[{"label": frames.label(c), "value": c}
                                             for c in metrics],
                            value=value, clearable=False, style=AXIS_STYLE)

    def chooser(column):
        values = frames.options(sweep, column)
        ticked = ([prefer(values, SINGLE_AT_START[column])] if column in SINGLE_AT_START
                  else None)
        return control(frames.label(column), checklist(f"ex-{column}", values, ticked))

    return dcc.Tab(label="Design-space explorer", value="explorer", children=[
        row([
            control("x", axis("ex-x", prefer(metrics, "energy_per_inference_uj"))),
            control("x is better", dcc.RadioItems(id="ex-x-sense", options=SENSES,
                                                  value="min", inline=True)),
            control("y", axis("ex-y", prefer(metrics, "top1_err_pct", "latency_ms"))),
            control("y is better", dcc.RadioItems(id="ex-y-sense", options=SENSES,
                                                  value="min", inline=True)),
            control("colour", dcc.Dropdown(
                id="ex-colour", options=[{"label": frames.label(c), "value": c}
                                         for c in colours],
                value=prefer(colours, "wbits"), clearable=False, style=AXIS_STYLE)),
            control("axes", dcc.Checklist(id="ex-log", options=LOG_AXES,
                                          value=["log x"], inline=True)),
        ]),
        row([chooser(column) for column in FILTERS], "filters"),
        dcc.Graph(id="ex-graph", config=GRAPH_CONFIG, style={"height": "640px"}),
        dcc.Store(id="ex-drawn"),
        html.Button("Export Pareto CSV", id="ex-export"),
        dcc.Download(id="ex-download"),
        html.P(id="ex-table-caption"),
        dash_table.DataTable(id="ex-table", **TABLE_STYLE),
    ])


def register(app: Dash, results: Results) -> None:
    sweep = results.sweep
    metrics = (frames.metric_columns(sweep) if len(sweep) else []) + [None]
    colours = (frames.colour_columns(sweep) if len(sweep) else []) + [None]
    filter_values = [frames.options(sweep, column) for column in FILTERS]

    def refuse(x, y, x_sense, y_sense, chosen, colour=None, logs=None):
        """Only what the page offers (controls.refuse_unoffered)."""
        refuse_unoffered((x, metrics), (y, metrics), (x_sense, SENSES + [None]),
                         (y_sense, SENSES + [None]), (colour, colours))
        refuse_unticked((logs or [], LOG_AXES), *((values or [], offered) for values, offered
                                                  in zip(chosen, filter_values)))

    def shown_and_ranked(x, y, x_sense, y_sense, *chosen):
        refuse(x, y, x_sense, y_sense, chosen)
        filters = dict(zip(FILTERS, chosen))
        shown = frames.filter_sweep(sweep, filters)
        senses = {x: x_sense, y: y_sense}
        ranked = frames.explorer_front(shown, x, y, senses, frames.filters_text(sweep, filters))
        return shown, ranked, senses

    def table(frame, x, y, colour, extra, caption):
        columns = table_columns(frame, list(TABLE_COLUMNS) + [x, y] + ([colour] if colour
                                                                      else []) + list(extra))
        return columns, table_data(frame, columns), caption

    def front_table(ranked, x, y, colour):
        front = ranked.front
        caption = (f"Pareto fronts: {len(front):,} designs of {len(ranked.frame):,} shown "
                   "points (points with equal objective values are one row: see 'equal "
                   "points' and 'differing'; click a header to sort)")
        if OVERFLOW in ranked.frame.columns and ranked.frame[OVERFLOW].fillna(False).any():
            caption += (f"; {int(ranked.frame[OVERFLOW].fillna(False).sum()):,} points whose "
                        "accumulators can overflow are left off the fronts (overflow possible)")
        return table(front, x, y, colour, FRONT_COLUMNS, caption)

    @app.callback(Output("ex-x-sense", "value"), Input("ex-x", "value"))
    def _x_sense(x):
        return metric_sense(x) if x else no_update

    @app.callback(Output("ex-y-sense", "value"), Input("ex-y", "value"))
    def _y_sense(y):
        return metric_sense(y) if y else no_update

    @app.callback(Output("ex-graph", "figure"), Output("ex-table", "columns"),
                  Output("ex-table", "data"), Output("ex-table-caption", "children"),
                  Output("ex-drawn", "data"), *INPUTS, Input("ex-colour", "value"),
                  Input("ex-log", "value"), Input("tabs", "value"), State("ex-drawn", "data"))
    def _explorer(x, y, x_sense, y_sense, *rest):
        *chosen, colour, logs, tab, drawn = rest
        refuse(x, y, x_sense, y_sense, chosen, colour, logs)
        key = drawn_key("explorer", tab, drawn, x, y, x_sense, y_sense, colour, logs, *chosen)
        if x is None or y is None or sweep.empty:
            return figures.empty_figure("No sweep to explore."), [], [], "", key
        shown, ranked, senses = shown_and_ranked(x, y, x_sense, y_sense, *chosen)
        logs = logs or []
        figure = figures.explorer_figure(shown, ranked.front, x, y, colour, senses,
                                         "log x" in logs, "log y" in logs)
        return (figure, *front_table(ranked, x, y, colour), key)

    @app.callback(Output("ex-table", "columns", allow_duplicate=True),
                  Output("ex-table", "data", allow_duplicate=True),
                  Output("ex-table-caption", "children", allow_duplicate=True),
                  Input("ex-graph", "selectedData"), *STATES, State("ex-colour", "value"),
                  prevent_initial_call=True)
    def _selection(selected, x, y, x_sense, y_sense, *rest):
        *chosen, colour = rest
        refuse(x, y, x_sense, y_sense, chosen, colour)
        ids = frames.event_point_ids(selected)
        if ids:
            picked = sweep[sweep["point_id"].isin(ids)]
            return table(picked, x, y, colour, (), f"Selected: {len(picked):,} points")
        _, ranked, _ = shown_and_ranked(x, y, x_sense, y_sense, *chosen)
        return front_table(ranked, x, y, colour)

    @app.callback(Output("ex-download", "data"), Input("ex-export", "n_clicks"), *STATES,
                  prevent_initial_call=True)
    def _export(clicks, x, y, x_sense, y_sense, *chosen):
        if not clicks or sweep.empty:
            raise PreventUpdate
        _, ranked, _ = shown_and_ranked(x, y, x_sense, y_sense, *chosen)
        # A fixed name, and the text built here: the browser never names a file.  The columns
        # say what made the fronts (pareto_objectives, pareto_filters, pareto_group, rank).
        return dict(content=ranked.front.to_csv(index=False), filename="pareto.csv",
                    type="text/csv", base64=False)

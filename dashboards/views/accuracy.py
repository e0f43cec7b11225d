"""Accuracy vs compute cost, one data set at a time: the paper's Tables 1-4 and the measured
runs against the paper's compute cost, or the energy or area of the array chosen beside it,
with their Pareto front.  A front never mixes data sets: their errors are not comparable."""
from __future__ import annotations

from dash import Dash, Input, Output, dcc, html

from .. import figures, frames
from ..load import Results
from .controls import (GRAPH_CONFIG, LOG_AXES, control, dropdown, prefer, refuse_unoffered,
                       refuse_unticked, row)

MISSING_SHOWN = 12  # accuracy rows without a design point named under the plot


def choices(results: Results) -> dict[str, list]:
    """What each control offers: the page shows these, and the callback takes nothing else."""
    sweep = results.sweep
    return {"dataset": frames.accuracy_datasets(results.accuracy),
            "x": [c for c in frames.COST_AXES if c in sweep.columns],
            "rows": frames.options(sweep, "rows"), "cols": frames.options(sweep, "cols"),
            "dataflow": frames.options(sweep, "dataflow")}


def tab(results: Results) -> dcc.Tab:
    offered = choices(results)
    cost_axes, datasets, flows = offered["x"], offered["dataset"], offered["dataflow"]
    rows_values, cols_values = offered["rows"], offered["cols"]
    return dcc.Tab(label="Accuracy vs compute cost", value="accuracy", children=[
        row([
            control("data set", dcc.RadioItems(id="acc-dataset", options=datasets,
                                               value=prefer(datasets, "cifar10"))),
            control("x axis", dcc.RadioItems(
                id="acc-x", options=[{"label": frames.label(c), "value": c} for c in cost_axes],
                value=prefer(cost_axes, "compute_cost_mac_bits"))),
            control("axes", dcc.Checklist(id="acc-log", options=LOG_AXES,
                                          value=["log x"], inline=True)),
            control(frames.label("rows"), dropdown("acc-rows", rows_values,
                                                   prefer(rows_values, 8))),
            control(frames.label("cols"), dropdown("acc-cols", cols_values,
                                                   prefer(cols_values, 8))),
            control(frames.label("dataflow"), dropdown("acc-dataflow", flows,
                                                       prefer(flows, "os"))),
        ]),
        dcc.Graph(id="acc-graph", config=GRAPH_CONFIG, style={"height": "600px"}),
        html.Div(id="acc-missing", className="message"),
    ])


def missing_note(names: list[str]) -> list:
    """The accuracy rows that have no design point, named (the first MISSING_SHOWN)."""
    if not names:
        return []
    more = f" and {len(names) - MISSING_SHOWN} more" if len(names) > MISSING_SHOWN else ""
    return [html.P(f"{len(names)} accuracy row{'s' * (len(names) != 1)} of this data set "
                   f"{'have' if len(names) != 1 else 'has'} no design point in this sweep "
                   f"(sweep their networks to place them){more}:"),
            html.Ul([html.Li(name) for name in names[:MISSING_SHOWN]])]


def register(app: Dash, results: Results) -> None:
    sweep, table = results.sweep, results.accuracy
    offered = choices(results)

    @app.callback(Output("acc-graph", "figure"), Output("acc-missing", "children"),
                  Input("acc-dataset", "value"), Input("acc-x", "value"),
                  Input("acc-log", "value"), Input("acc-rows", "value"),
                  Input("acc-cols", "value"), Input("acc-dataflow", "value"))
    def _accuracy(dataset, x, logs, rows, cols, dataflow):
        refuse_unoffered((dataset, offered["dataset"] + [None]), (x, offered["x"] + [None]),
                         (rows, offered["rows"] + [None]), (cols, offered["cols"] + [None]),
                         (dataflow, offered["dataflow"] + [None]))
        refuse_unticked((logs or [], LOG_AXES))
        if x is None or sweep.empty:
            return figures.empty_figure("No sweep to take costs from."), []
        points = frames.accuracy_points(table, sweep, rows, cols, dataflow, dataset)
        logs = logs or []
        figure = figures.accuracy_cost_figure(points, x, f"{rows}x{cols} {str(dataflow).upper()}",
                                              "log x" in logs, "log y" in logs)
        return figure, missing_note(frames.missing_rows(points, x))

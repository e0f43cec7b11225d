"""Accuracy vs compute cost: the paper's Tables 1-4 and the measured runs against the paper's
compute cost, or the energy or area of the array chosen beside it, with their Pareto front."""
from __future__ import annotations

from dash import Dash, Input, Output, dcc

from .. import figures, frames
from ..load import Results
from .controls import GRAPH_CONFIG, control, dropdown, prefer, row


def tab(results: Results) -> dcc.Tab:
    sweep = results.sweep
    cost_axes = [c for c in frames.COST_AXES if c in sweep.columns]
    rows_values, cols_values = frames.options(sweep, "rows"), frames.options(sweep, "cols")
    flows = frames.options(sweep, "dataflow")
    return dcc.Tab(label="Accuracy vs compute cost", value="accuracy", children=[
        row([
            control("x axis", dcc.RadioItems(
                id="acc-x", options=[{"label": frames.label(c), "value": c} for c in cost_axes],
                value=prefer(cost_axes, "compute_cost_mac_bits"))),
            control("array rows", dropdown("acc-rows", rows_values, prefer(rows_values, 8))),
            control("array columns", dropdown("acc-cols", cols_values, prefer(cols_values, 8))),
            control("dataflow", dropdown("acc-dataflow", flows, prefer(flows, "os"))),
        ]),
        dcc.Graph(id="acc-graph", config=GRAPH_CONFIG, style={"height": "600px"}),
    ])


def register(app: Dash, results: Results) -> None:
    sweep, table = results.sweep, results.accuracy

    @app.callback(Output("acc-graph", "figure"), Input("acc-x", "value"),
                  Input("acc-rows", "value"), Input("acc-cols", "value"),
                  Input("acc-dataflow", "value"))
    def _accuracy(x, rows, cols, dataflow):
        if x is None or sweep.empty:
            return figures.empty_figure("No sweep to take costs from.")
        points = frames.accuracy_points(table, sweep, rows, cols, dataflow)
        return figures.accuracy_cost_figure(points, x, f"{rows}x{cols} {str(dataflow).upper()}")

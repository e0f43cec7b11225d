"""Memory footprint: the paper's Figure 1, weights against activations per network, at any
batch, phase and precision (scaled from ``training.footprint``'s measurements)."""
from __future__ import annotations

from dash import Dash, Input, Output, dcc

from .. import figures, frames
from ..load import Results
from .controls import GRAPH_CONFIG, control, dropdown, row

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
PRECISIONS = ((32, 32), (8, 8), (4, 8), (2, 8), (2, 4), (1, 4))


def tab(results: Results) -> dcc.Tab:
    measured_bits = results.footprint[["wbits", "abits"]].drop_duplicates().itertuples(
        index=False)
    precisions = list(dict.fromkeys(list(PRECISIONS) + [(int(w), int(a))
                                                        for w, a in measured_bits]))
    return dcc.Tab(label="Memory footprint", value="footprint", children=[
        row([
            control("phase", dcc.RadioItems(id="fp-phase", options=["training", "inference"],
                                            value="training")),
            control("batch", dropdown("fp-batch", list(BATCHES), 32)),
            control("precision (weights / activations)", dcc.RadioItems(
                id="fp-precision",
                options=[{"label": f"{w}b / {a}b", "value": f"{w}/{a}"} for w, a in precisions],
                value="32/32", inline=True)),
            control("scale", dcc.Checklist(id="fp-log", options=["log y"], value=["log y"])),
        ]),
        dcc.Graph(id="fp-graph", config=GRAPH_CONFIG, style={"height": "560px"}),
    ])


def register(app: Dash, results: Results) -> None:
    footprint = results.footprint

    @app.callback(Output("fp-graph", "figure"), Input("fp-phase", "value"),
                  Input("fp-batch", "value"), Input("fp-precision", "value"),
                  Input("fp-log", "value"))
    def _footprint(phase, batch, precision, log_y):
        wbits, abits = (int(v) for v in str(precision).split("/"))
        bars = frames.footprint_bars(footprint, phase, int(batch), wbits, abits)
        return figures.footprint_figure(bars, phase, int(batch), wbits, abits, bool(log_y))

"""Memory footprint: the paper's Figure 1, weights against activations per network, at any
batch, phase and precision (scaled from ``training.footprint``'s measurements)."""
from __future__ import annotations

from dash import Dash, Input, Output, dcc

from .. import figures, frames
from ..load import Results
from .controls import GRAPH_CONFIG, control, dropdown, refuse_unoffered, refuse_unticked, row

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
PRECISIONS = ((32, 32), (8, 8), (4, 8), (2, 8), (2, 4), (1, 4))


PHASES = ["training", "inference"]


def precisions(results: Results) -> list[tuple[int, int]]:
    """The shipped precisions, then any other the footprint table measured."""
    measured = results.footprint[["wbits", "abits"]].drop_duplicates().itertuples(index=False)
    return list(dict.fromkeys(list(PRECISIONS) + [(int(w), int(a)) for w, a in measured]))


def tab(results: Results) -> dcc.Tab:
    return dcc.Tab(label="Memory footprint", value="footprint", children=[
        row([
            control("phase", dcc.RadioItems(id="fp-phase", options=PHASES,
                                            value="training")),
            control("batch", dropdown("fp-batch", list(BATCHES), 32)),
            control("precision (weights / activations)", dcc.RadioItems(
                id="fp-precision",
                options=[{"label": f"{w}b / {a}b", "value": f"{w}/{a}"}
                         for w, a in precisions(results)],
                value="32/32", inline=True)),
            control("scale", dcc.Checklist(id="fp-log", options=["log y"], value=["log y"])),
        ]),
        dcc.Graph(id="fp-graph", config=GRAPH_CONFIG, style={"height": "560px"}),
    ])


def register(app: Dash, results: Results) -> None:
    footprint = results.footprint
    offered = [f"{w}/{a}" for w, a in precisions(results)]

    @app.callback(Output("fp-graph", "figure"), Input("fp-phase", "value"),
                  Input("fp-batch", "value"), Input("fp-precision", "value"),
                  Input("fp-log", "value"))
    def _footprint(phase, batch, precision, log_y):
        refuse_unoffered((phase, PHASES), (batch, list(BATCHES)), (precision, offered))
        refuse_unticked((log_y or [], ["log y"]))
        wbits, abits = (int(v) for v in str(precision).split("/"))
        bars = frames.footprint_bars(footprint, phase, int(batch), wbits, abits)
        return figures.footprint_figure(bars, phase, int(batch), wbits, abits, bool(log_y))

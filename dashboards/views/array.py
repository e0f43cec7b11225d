"""Inside the array: one layer of one design point run clock by clock (accelsim's cycle-level
model): per-PE busy cycles and the fold-by-fold timeline.  A click in the explorer loads its
point here."""
from __future__ import annotations

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from .. import figures, frames
from ..load import Results
from .controls import GRAPH_CONFIG, control, drawn_key, dropdown, prefer, row

DEFAULT_LAYER = "stage1.block1.conv1"
DEFAULT_NETWORK = "resnet56 cifar10 width 1 widen none"


def network_choices(sweep: pd.DataFrame) -> dict[str, dict]:
    """The sweep's networks, keyed by a label the page shows and sends back."""
    if sweep.empty:
        return {}
    nets = sweep[list(frames.NETWORK_KEY)].drop_duplicates().sort_values(list(frames.NETWORK_KEY))
    return {f"{r.model} {r.dataset} width {r.width:g} widen {r.widen}":
            dict(model=r.model, dataset=r.dataset, width=float(r.width), widen=r.widen)
            for r in nets.itertuples(index=False)}


def tab(results: Results) -> dcc.Tab:
    sweep = results.sweep
    networks = list(network_choices(sweep))
    rows_values, cols_values = frames.options(sweep, "rows"), frames.options(sweep, "cols")
    flows = frames.options(sweep, "dataflow")
    wbits, abits = frames.options(sweep, "wbits"), frames.options(sweep, "abits")
    return dcc.Tab(label="Inside the array", value="array", children=[
        row([
            control("network", dropdown("arr-network", networks,
                                        prefer(networks, DEFAULT_NETWORK),
                                        style={"minWidth": "320px"})),
            control("layer", dcc.Dropdown(id="arr-layer", clearable=False)),
            control("rows", dropdown("arr-rows", rows_values, prefer(rows_values, 8))),
            control("columns", dropdown("arr-cols", cols_values, prefer(cols_values, 8))),
            control("dataflow", dropdown("arr-dataflow", flows, prefer(flows, "os"))),
            control("wbits", dropdown("arr-wbits", wbits, prefer(wbits, 2))),
            control("abits", dropdown("arr-abits", abits, prefer(abits, 8))),
        ]),
        html.P("Click a point in the explorer to load its array here. One image (batch 1) on "
               "seeded random operand codes: busy cycles depend on the layer's shape, not its "
               "values.", id="arr-note"),
        dcc.Store(id="arr-drawn"),
        html.Div([dcc.Graph(id="arr-heatmap", config=GRAPH_CONFIG, style={"height": "520px"}),
                  dcc.Graph(id="arr-timeline", config=GRAPH_CONFIG, style={"height": "420px"})]),
    ])


def register(app: Dash, results: Results) -> None:
    sweep = results.sweep
    networks = network_choices(sweep)

    @app.callback(Output("arr-network", "value"), Output("arr-rows", "value"),
                  Output("arr-cols", "value"), Output("arr-dataflow", "value"),
                  Output("arr-wbits", "value"), Output("arr-abits", "value"),
                  Input("ex-graph", "clickData"), prevent_initial_call=True)
    def _pick(click):
        ids = frames.event_point_ids(click)
        rows = sweep[sweep["point_id"] == ids[0]] if ids else sweep.iloc[:0]
        if rows.empty:
            raise PreventUpdate
        r = rows.iloc[0]
        key = next((k for k, v in networks.items()
                    if (v["model"], v["dataset"], v["width"], v["widen"])
                    == (r["model"], r["dataset"], float(r["width"]), r["widen"])), no_update)
        return key, int(r["rows"]), int(r["cols"]), r["dataflow"], int(r["wbits"]), \
            int(r["abits"])

    @app.callback(Output("arr-layer", "options"), Output("arr-layer", "value"),
                  Input("arr-network", "value"), State("arr-layer", "value"))
    def _layers(network, current):
        net = networks.get(network)
        names = frames.network_layers(**net) if net else []
        return names, (current if current in names else prefer(names, DEFAULT_LAYER))

    @app.callback(Output("arr-heatmap", "figure"), Output("arr-timeline", "figure"),
                  Output("arr-drawn", "data"),
                  Input("arr-network", "value"), Input("arr-layer", "value"),
                  Input("arr-rows", "value"), Input("arr-cols", "value"),
                  Input("arr-dataflow", "value"), Input("arr-wbits", "value"),
                  Input("arr-abits", "value"), Input("tabs", "value"), State("arr-drawn", "data"))
    def _array(network, layer, rows, cols, dataflow, wbits, abits, tab, drawn):
        key = drawn_key("array", tab, drawn, network, layer, rows, cols, dataflow, wbits, abits)
        net = networks.get(network)
        if net is None or layer is None:
            blank = figures.empty_figure("Choose a network and a layer.")
            return blank, blank, key
        try:
            run = frames.array_run(net["model"], net["dataset"], net["width"], net["widen"],
                                   layer, int(rows), int(cols), dataflow, int(wbits), int(abits))
        except ValueError as err:
            blank = figures.empty_figure(str(err))
            return blank, blank, key
        return figures.pe_heatmap_figure(run), figures.fold_timeline_figure(run), key

"""``python -m dashboards.app``: the dashboard in a browser at http://127.0.0.1:8050.

    python -m dashboards.app                         # a default sweep computed at start-up
    python -m dashboards.app --rows 8,16 --wbits 2,8 # the same, over other hardware
    python -m dashboards.app --results runs/s        # sweep.csv, accuracy.csv, footprint.csv

Five views: accuracy vs compute cost, memory footprint (the paper's Figure 1), a design-space
explorer with a Pareto CSV export, one layer inside the PE array, and the mixed-precision
designs' per-layer bit allocations (``experiments.mixed_precision``): a module each in
``dashboards.views`` (its layout and callbacks, which only pass the controls' values to ``frames``
for tables and ``figures`` for plotly figures), put side by side here.  Safety: the
server listens on 127.0.0.1 unless ``--host`` says otherwise, Dash's debug mode is off unless
``--debug``, and nothing the browser sends is used as a file path: the results folder is fixed
on the command line and downloads are built in memory.  Nor is anything it sends trusted: each
callback takes only the values its controls offer (``views.controls.refuse_unoffered``),
request bodies are capped, and the array view's cache is bounded in bytes.
"""
from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

import pandas as pd
from dash import Dash, dcc, html

from accelsim import cli, dataflows
from accelsim.cli import ArgumentParser, UsageError
from accelsim.cost import load_table
from dse.pareto import load_ens
from dse.space import hardware_values

from . import frames, load
from .load import Results
from .views import accuracy, array, explorer, footprint, mixed

# The shared hardware options the start-up sweep takes (accelsim.cli.OPTIONS).
HARDWARE_FIELDS = tuple(o.field for group in cli.OPTIONS.values() for o in group)
# The tabs, in the order the page shows them; each module holds its layout and callbacks.
VIEWS = (accuracy, footprint, explorer, array, mixed)
MAX_REQUEST_BYTES = 8 << 20


def create_app(results: Results) -> Dash:
    """The Dash app showing ``results``; serve it with ``app.run`` or ``app.server`` (WSGI)."""
    app = Dash(__name__, title="wrpn-dse", update_title=None, serve_locally=True)
    # Flask answers a larger body with 413 before any callback reads it; the largest the page
    # sends, a lasso over every point of the default sweep, is about 2 MB.
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    header = html.Div([
        html.H1("wrpn-dse: low-precision accelerator design space"),
        html.P(results.source, id="source"),
        html.Div([html.P(m, className="message") for m in results.messages], id="messages",
                 role="alert" if results.messages else None),
    ])
    app.layout = html.Div([header, dcc.Tabs(id="tabs", value="accuracy",
                                            children=[view.tab(results) for view in VIEWS])],
                          style={"fontFamily": "sans-serif", "margin": "0 16px"})
    for view in VIEWS:
        view.register(app, results)
    threading.Thread(target=_warm_up, args=(results.sweep,), daemon=True).start()
    return app


def _warm_up(sweep: pd.DataFrame) -> None:
    """Load the compiled code of the Pareto sort and the array kernels before a user needs them.

    Numba loads cached machine code on first call (about 1-2 s here); doing it now, beside the
    first page load, keeps it out of the first control change.
    """
    load_ens()  # fronts come group by group: many small sorts, where ENS is the faster
    if len(sweep) and {"energy_per_inference_uj", "latency_ms"} <= set(sweep.columns):
        frames.explorer_front(sweep, "energy_per_inference_uj", "latency_ms", {}).front
    for dataflow in dataflows.NAMES:
        frames.array_run("resnet20", "cifar10", 1.0, "none", "fc", 4, 4, dataflow, 2, 8)


# ----------------------------------------------------------------------------- command line

def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m dashboards.app",
                       description=__doc__.split("\n\n")[0].replace("``", ""),
                       epilog="The hardware and cost-model options are python -m dse.sweep's "
                              "and shape the start-up sweep (default: "
                              + ", ".join(f"{cli.FIELD_FLAGS[k]} {cli.as_typed(v)}"
                                          for k, v in load.DEFAULT_HARDWARE.items()
                                          if k in HARDWARE_FIELDS)
                              + "); a results folder's sweep.csv replaces it.")
    p.add_argument("--results", default=None, metavar="DIR",
                   help="folder with sweep.csv (python -m dse.sweep --out DIR), and optionally "
                        "accuracy.csv and footprint.csv; without one a default sweep is "
                        "computed at start-up")
    # None: not given, so that the start-up sweep keeps its own wider defaults.
    cli.add_hardware_options(p, lists=True, defaults={f: None for f in HARDWARE_FIELDS})
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 0.0.0.0 exposes the dashboard to your network")
    p.add_argument("--port", default="8050", help="TCP port, 1..65535")
    p.add_argument("--debug", action="store_true",
                   help="Dash debug mode (reloader, tracebacks in the page): development only")
    return p


def parse_args(argv=None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if not (args.port.isascii() and args.port.isdigit()) or not 1 <= int(args.port) <= 65535:
        raise UsageError(f"--port: {args.port!r} is not a port; accepts an integer 1..65535")
    args.port = int(args.port)
    if args.results is not None and not Path(args.results).is_dir():
        raise UsageError(f"--results: {args.results!r} is not a folder; accepts a folder "
                         "holding sweep.csv")
    given = hardware_values(args)
    args.hardware = dict(load.DEFAULT_HARDWARE, **given) if given else None
    if args.table is not None:
        try:
            args.table = load_table(args.table)
        except ValueError as err:
            raise UsageError(f"--table: {err}") from None
    return args


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
    except UsageError as err:
        print(f"dashboards.app: error: {err}", file=sys.stderr)
        return 2
    results = load.load(args.results, hardware=args.hardware, table=args.table,
                        quantize_ends=args.quantize_ends)
    for message in results.messages:
        print(f"dashboards.app: {message}", file=sys.stderr)
    app = create_app(results)
    print(f"{results.source}\nserving on http://{args.host}:{args.port}/ (Ctrl+C stops)",
          flush=True)
    try:
        app.run(host=args.host, port=args.port, debug=args.debug)
    except OSError as err:
        print(f"dashboards.app: error: --port {args.port} on {args.host}: {err.strerror or err}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

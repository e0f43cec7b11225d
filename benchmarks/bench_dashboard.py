"""The dashboard's two timing targets (issue 6), medians of repeated runs.

    python benchmarks/bench_dashboard.py [--repeats 5] [--points 10000]

1. First page usable: from ``page.goto`` in a fresh browser page (empty cache) until the first
   view's figure is drawn with its points (``gd._fullData`` filled), in Debian's Chromium driven
   by Playwright, the app served in-process.  Target: under 5 s.
2. Control change: server time of the explorer's answer to a control change (filter, Pareto
   fronts, figure, table, JSON), measured as the wall time of the POST to
   ``/_dash-update-component`` through Flask's test client, on a sweep cut to ``--points``
   design points.  Target: under 300 ms with 10,000 points.
3. Layer change inside the array: the same for the array view's two callbacks on a layer not
   seen before (its cycle-level run, figures, then the wavefront of one fold).
4. Load (``--load``): ``--load-pages`` page loads from ``--load-clients`` concurrent clients
   over HTTP to the app served by a process of its own (threaded werkzeug, as ``python -m
   dashboards.app`` serves it), while ``--hostile`` more clients keep posting requests the
   server must refuse (a 2000 x 2000 array, a 20 MB body); a page load is the index alone, then
   again the index, the layout and the callback graph (all a browser fetches before it draws).
   Prints the percentiles of the loads' wall times and what the hostile requests got back.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from werkzeug.serving import make_server  # noqa: E402

from accelsim.formats import metric_sense  # noqa: E402
from dashboards import app as dash_app  # noqa: E402
from dashboards import frames, load  # noqa: E402
from dashboards.views import explorer  # noqa: E402

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
# Control changes a user makes in the explorer: axes, colour, a filter.  Without accuracy on
# an axis the fronts are one per workload (several fronts), with it one per data set.
CHANGES = [("area_mm2", "latency_ms", "wbits", None),
           ("energy_per_inference_uj", "top1_err_pct", "model", None),
           ("area_mm2", "inferences_per_s", "power_mw", None),
           ("area_mm2", "latency_ms", "wbits", ("dataflow", ["os", "ws"]))]


def explorer_request(sweep, x: str, y: str, colour: str, dropped) -> dict:
    """The JSON the page posts when an explorer control changes (Dash's callback protocol)."""
    inputs = [{"id": "ex-x", "property": "value", "value": x},
              {"id": "ex-y", "property": "value", "value": y},
              {"id": "ex-x-sense", "property": "value", "value": metric_sense(x)},
              {"id": "ex-y-sense", "property": "value", "value": metric_sense(y)}]
    for column in explorer.FILTERS:
        values = frames.options(sweep, column)
        if dropped and dropped[0] == column:
            values = dropped[1]
        inputs.append({"id": f"ex-{column}", "property": "value", "value": values})
    inputs += [{"id": "ex-colour", "property": "value", "value": colour},
               {"id": "ex-log", "property": "value", "value": ["log x", "log y"]},
               {"id": "tabs", "property": "value", "value": "explorer"}]
    outputs = [{"id": "ex-graph", "property": "figure"},
               {"id": "ex-table", "property": "columns"}, {"id": "ex-table", "property": "data"},
               {"id": "ex-table-caption", "property": "children"},
               {"id": "ex-drawn", "property": "data"}]
    return {"output": "..ex-graph.figure...ex-table.columns...ex-table.data..."
                      "ex-table-caption.children...ex-drawn.data..",
            "outputs": outputs, "inputs": inputs, "changedPropIds": ["ex-x.value"],
            "state": [{"id": "ex-drawn", "property": "data", "value": None}]}


def control_change_ms(points: int, repeats: int) -> tuple[list[float], int]:
    results = load.load(None)
    results.sweep = results.sweep.iloc[:points].reset_index(drop=True)
    app = dash_app.create_app(results)
    client = app.server.test_client()
    client.get("/")
    # The first call loads Numba's compiled Pareto sort; the app does that at start-up too.
    client.post("/_dash-update-component", json=explorer_request(results.sweep, *CHANGES[0]))
    times = []
    for _ in range(repeats):
        for change in CHANGES:
            started = time.perf_counter()
            reply = client.post("/_dash-update-component",
                                json=explorer_request(results.sweep, *change))
            times.append((time.perf_counter() - started) * 1e3)
            if reply.status_code != 200:
                raise RuntimeError(f"callback answered {reply.status_code}")
    return times, len(results.sweep)


ARRAY_CONTROLS = ("arr-network", "arr-layer", "arr-rows", "arr-cols", "arr-dataflow",
                  "arr-wbits", "arr-abits")


def _post(client, outputs: list[tuple[str, str]], inputs: list[dict], state: list[dict]):
    """One Dash callback request; returns its JSON reply."""
    specs = [{"id": i, "property": p} for i, p in outputs]
    single = len(outputs) == 1  # Dash names a lone output without the dots
    reply = client.post("/_dash-update-component", json={
        "output": (f"{outputs[0][0]}.{outputs[0][1]}" if single
                   else ".." + "...".join(f"{i}.{p}" for i, p in outputs) + ".."),
        "outputs": specs[0] if single else specs, "inputs": inputs,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"], "state": state})
    if reply.status_code != 200:
        raise RuntimeError(f"callback answered {reply.status_code}")
    return reply.get_json()


def layer_change_ms(repeats: int) -> list[float]:
    """Server time of a new layer inside the array: the cycle-level run, the busy map, losses
    and timeline, then the wavefront of the fold it picks (two callbacks, as the page makes)."""
    results = load.load(None)
    client = dash_app.create_app(results).server.test_client()
    client.get("/")
    network = "resnet56 cifar10 width 1 widen none"
    layers = frames.network_layers("resnet56", "cifar10", 1.0, "none")
    times = []
    for layer in layers[1:1 + 4 * repeats]:  # each layer once: nothing cached
        values = [network, layer, 8, 8, "ws", 2, 8]
        controls = [{"id": c, "property": "value", "value": v}
                    for c, v in zip(ARRAY_CONTROLS, values)]
        started = time.perf_counter()
        reply = _post(client, [("arr-heatmap", "figure"), ("arr-losses", "figure"),
                               ("arr-timeline", "figure"), ("arr-fold", "options"),
                               ("arr-fold", "value"), ("arr-drawn", "data")],
                      controls + [{"id": "tabs", "property": "value", "value": "array"}],
                      [{"id": "arr-fold", "property": "value", "value": None},
                       {"id": "arr-drawn", "property": "data", "value": None}])
        fold = reply["response"]["arr-fold"]
        _post(client, [("arr-wavefront", "figure")],
              [{"id": "arr-fold", "property": "value", "value": fold["value"]},
               {"id": "arr-fold", "property": "options", "value": fold["options"]}],
              [{**c} for c in controls])
        times.append((time.perf_counter() - started) * 1e3)
    return times


def first_page_s(repeats: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    app = dash_app.create_app(load.load(None))
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    ready = ("() => { const g = document.querySelector('#acc-graph .js-plotly-plot'); "
             "return g && g._fullData && g._fullData.length > 0; }")
    times = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=CHROMIUM_FLAGS)
            for _ in range(repeats + 1):  # the first, cold browser run is not counted
                context = browser.new_context()  # a fresh context: nothing cached
                page = context.new_page()
                started = time.perf_counter()
                page.goto(url)
                page.wait_for_function(ready, timeout=30_000)
                times.append(time.perf_counter() - started)
                context.close()
            browser.close()
    finally:
        server.shutdown()
    return times[1:]


PAGE = ("/",)
PAGE_AND_DATA = ("/", "/_dash-layout", "/_dash-dependencies")


def _page_load(host: str, port: int, paths=PAGE) -> float:
    """One page load over a fresh connection; its wall time in ms."""
    import http.client

    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=60)
    for path in paths:
        connection.request("GET", path)
        reply = connection.getresponse()
        reply.read()
        if reply.status != 200:
            raise RuntimeError(f"GET {path} answered {reply.status}")
    connection.close()
    return (time.perf_counter() - started) * 1e3


def _hostile(host: str, port: int, stop: threading.Event, answers: list) -> None:
    """Post what the server must refuse, again and again: an array of 2000 x 2000 PEs and a
    20 MB body; records each status."""
    import http.client
    import json

    controls = [{"id": c, "property": "value", "value": v} for c, v in zip(
        ARRAY_CONTROLS, ["resnet56 cifar10 width 1 widen none", "conv1", 2000, 2000, "ws", 2,
                         8])]
    outputs = [("arr-heatmap", "figure"), ("arr-losses", "figure"), ("arr-timeline", "figure"),
               ("arr-fold", "options"), ("arr-fold", "value"), ("arr-drawn", "data")]
    huge = {"output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
            "outputs": [{"id": i, "property": p} for i, p in outputs],
            "inputs": controls + [{"id": "tabs", "property": "value", "value": "array"}],
            "changedPropIds": ["arr-rows.value"],
            "state": [{"id": "arr-fold", "property": "value", "value": None},
                      {"id": "arr-drawn", "property": "data", "value": None}]}
    bodies = [json.dumps(huge).encode(), b'{"pad": "' + b"x" * (20 << 20) + b'"}']
    k = 0
    while not stop.is_set():
        connection = http.client.HTTPConnection(host, port, timeout=60)
        try:
            connection.request("POST", "/_dash-update-component", body=bodies[k % 2],
                               headers={"Content-Type": "application/json"})
            answers.append(connection.getresponse().status)
        except OSError:   # the server may close a connection whose body it refused
            answers.append("closed")
        finally:
            connection.close()
        k += 1


def _serve(port_pipe) -> None:
    """The dashboard on a free port, in a process of its own (clients here share no GIL)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = dash_app.create_app(load.load(None))
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    port_pipe.send(server.server_port)
    server.serve_forever()


def load_check(pages: int, clients: int, hostile: int) -> dict[str, tuple[list[float], list]]:
    import multiprocessing
    from concurrent.futures import ThreadPoolExecutor

    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=_serve, args=(send,), daemon=True)
    server.start()
    port = receive.recv()
    found = {}
    try:
        _page_load("127.0.0.1", port, PAGE_AND_DATA)  # the first load builds the layout once
        for label, paths in (("index", PAGE), ("index + layout + callback graph",
                                               PAGE_AND_DATA)):
            stop, answers = threading.Event(), []
            attackers = [threading.Thread(target=_hostile, daemon=True,
                                          args=("127.0.0.1", port, stop, answers))
                         for _ in range(hostile)]
            for thread in attackers:
                thread.start()
            try:
                with ThreadPoolExecutor(clients) as pool:
                    times = list(pool.map(lambda _: _page_load("127.0.0.1", port, paths),
                                          range(pages)))
            finally:
                stop.set()
                for thread in attackers:
                    thread.join()
            found[label] = (times, answers)
    finally:
        server.kill()
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="measured runs of each target")
    p.add_argument("--points", type=int, default=10_000, help="sweep points for the control "
                                                              "change")
    p.add_argument("--load", action="store_true", help="only the load check (target 4)")
    p.add_argument("--load-pages", type=int, default=1000, help="page loads of the load check")
    p.add_argument("--load-clients", type=int, default=20, help="concurrent clients loading")
    p.add_argument("--hostile", type=int, default=2,
                   help="clients posting refused requests meanwhile")
    args = p.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    if args.load:
        for label, (times, answers) in load_check(args.load_pages, args.load_clients,
                                                  args.hostile).items():
            print(f"load, {label}: {len(times):,} page loads from {args.load_clients} clients: "
                  f"p50 {percentile(times, 50):.0f} ms, p99 {percentile(times, 99):.0f} ms, "
                  f"max {max(times):.0f} ms; meanwhile {len(answers):,} hostile requests "
                  "answered " + (", ".join(f"{a}: {answers.count(a)}"
                                           for a in sorted(set(answers), key=str)) or "-"))
        return 0
    started = time.perf_counter()
    load.load(None)
    print(f"start-up data (default sweep, accuracy join): {time.perf_counter() - started:.2f} s")
    change, n = control_change_ms(args.points, args.repeats)
    print(f"control change, explorer, {n:,} points: median {statistics.median(change):.0f} ms "
          f"(min {min(change):.0f}, max {max(change):.0f}, {len(change)} changes); target 300 ms")
    layer = layer_change_ms(args.repeats)
    print(f"layer change, inside the array (8x8 WS, cycle-level run included): median "
          f"{statistics.median(layer):.0f} ms (min {min(layer):.0f}, max {max(layer):.0f}, "
          f"{len(layer)} layers)")
    page = first_page_s(args.repeats)
    print(f"first page usable: median {statistics.median(page):.2f} s (min {min(page):.2f}, "
          f"max {max(page):.2f}, {len(page)} loads); target 5 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

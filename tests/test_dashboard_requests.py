"""The dashboard's server trusts nothing the browser sends: hand-made callback requests with
values the page never offers are refused before any work, oversized bodies are rejected, and
the array view's cache is bounded in bytes."""
from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from accelsim.formats import ACCURACY_COLUMNS
from dashboards import app as dash_app
from dashboards import frames, load

HARDWARE = dict(load.DEFAULT_HARDWARE, rows=[4, 8], cols=[4, 8], dataflow=["os", "ws"],
                wbits=[2, 8], abits=[8])
NETWORK = "resnet20 cifar10 width 1 widen none"
ARRAY_INPUTS = ("arr-network", "arr-layer", "arr-rows", "arr-cols", "arr-dataflow", "arr-wbits",
                "arr-abits")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    sweep = load.default_sweep(models=("resnet20",), hardware=HARDWARE,
                               measured=pd.DataFrame(columns=list(ACCURACY_COLUMNS)))
    folder = tmp_path_factory.mktemp("results")
    sweep.to_csv(folder / "sweep.csv", index=False)
    app = dash_app.create_app(load.load(folder))
    return app.server.test_client()


def array_request(rows, cols, **changes) -> dict:
    """The body the page posts when a control of the array view changes."""
    values = dict(zip(ARRAY_INPUTS, (NETWORK, "conv1", rows, cols, "ws", 2, 8)), **changes)
    outputs = [("arr-heatmap", "figure"), ("arr-losses", "figure"), ("arr-timeline", "figure"),
               ("arr-fold", "options"), ("arr-fold", "value"), ("arr-drawn", "data")]
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [{"id": i, "property": "value", "value": v} for i, v in values.items()]
        + [{"id": "tabs", "property": "value", "value": "array"}],
        "state": [{"id": "arr-fold", "property": "value", "value": None},
                  {"id": "arr-drawn", "property": "data", "value": None}],
        "changedPropIds": ["arr-rows.value"],
    }


def post(client, body):
    start = time.perf_counter()
    response = client.post("/_dash-update-component", data=json.dumps(body),
                           content_type="application/json")
    return response, time.perf_counter() - start


def test_an_offered_array_is_drawn(client):
    response, _ = post(client, array_request(8, 4))
    assert response.status_code == 200
    assert "arr-heatmap" in response.get_data(as_text=True)


@pytest.mark.parametrize("changes", [
    dict(rows=2000, cols=2000),                       # the 54-second request
    dict(rows=16),                                    # a plain size the sweep does not hold
    dict(rows="8"), dict(rows=[8]), dict(rows={"a": 1}), dict(rows=8.5),
    {"arr-dataflow": "xs"}, {"arr-wbits": 16}, {"arr-network": "resnet110 cifar10"},
    {"arr-layer": ["conv1"]},
])
def test_values_the_page_never_offers_are_refused_unrun(client, changes):
    rows, cols = changes.pop("rows", 8), changes.pop("cols", 4)
    response, seconds = post(client, array_request(rows, cols, **changes))
    assert response.status_code == 204          # PreventUpdate: nothing computed
    assert seconds < 1.0


def test_every_view_refuses_unoffered_values(client):
    bodies = [
        {"output": "..acc-graph.figure...acc-missing.children..",
         "outputs": [{"id": "acc-graph", "property": "figure"},
                     {"id": "acc-missing", "property": "children"}],
         "inputs": [{"id": "acc-dataset", "property": "value", "value": "cifar10"},
                    {"id": "acc-x", "property": "value", "value": "compute_cost_mac_bits"},
                    {"id": "acc-log", "property": "value", "value": ["log x"]},
                    {"id": "acc-rows", "property": "value", "value": 4096},
                    {"id": "acc-cols", "property": "value", "value": 8},
                    {"id": "acc-dataflow", "property": "value", "value": "os"}],
         "changedPropIds": ["acc-rows.value"]},
        {"output": "fp-graph.figure", "outputs": {"id": "fp-graph", "property": "figure"},
         "inputs": [{"id": "fp-phase", "property": "value", "value": "training"},
                    {"id": "fp-batch", "property": "value", "value": 10 ** 12},
                    {"id": "fp-precision", "property": "value", "value": "32/32"},
                    {"id": "fp-log", "property": "value", "value": ["log y"]}],
         "changedPropIds": ["fp-batch.value"]},
    ]
    for body in bodies:
        response, seconds = post(client, body)
        assert response.status_code == 204 and seconds < 1.0, body["output"]


def test_a_20_mb_body_is_rejected_not_echoed(client):
    body = array_request(8, 4)
    body["state"][1]["value"] = "x" * (20 << 20)
    response, seconds = post(client, body)
    assert response.status_code == 413
    assert len(response.get_data()) < 10_000 and seconds < 5.0


def test_array_cache_is_bounded_in_bytes():
    calls = []

    def make(size):
        calls.append(size)
        return frames.ArrayRun(layer="x", m=1, n=1, k=1, rows=1, cols=1, dataflow="os",
                               holds="outputs", cycles=1, utilization=1.0, macs=1, temporal=1,
                               preload=0, pe_busy=np.zeros(size, dtype=np.int64),
                               folds=pd.DataFrame())

    cache = frames.ByteBoundedCache(make, max_bytes=100_000)
    for key in range(5):                      # 40 kB each: 200 kB asked for
        cache(5_000 + key)
    assert cache.bytes <= 100_000
    assert list(cache.entries) == [(5_003,), (5_004,)]   # the newest, while they fit
    cache(5_004)
    assert calls.count(5_004) == 1                        # a hit, not a second run
    cache(20_000)                                         # 160 kB, beyond the budget: not kept
    assert (20_000,) not in cache.entries and cache.bytes <= 100_000
    assert frames.array_run.max_bytes == frames.ARRAY_CACHE_BYTES

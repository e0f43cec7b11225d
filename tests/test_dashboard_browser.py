"""The dashboard in a real browser: Debian's Chromium driven by Playwright (never
`playwright install`).

The app is served in-process on a free loopback port.  Each view is opened, a control changed
and the figure checked through ``gd._fullData`` (Plotly 6+ sends arrays base64-encoded, so the
page's ``gd.data`` holds no plain arrays) or by counting SVG points; the Pareto CSV is
downloaded and compared with the data; the console must stay free of errors; a screenshot of
each view goes to ci-artifacts/screenshots/ (CI keeps that folder).
"""
from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pandas as pd
import pytest
from werkzeug.serving import make_server

from accelsim.formats import ACCURACY_COLUMNS
from dashboards import app as dash_app
from dashboards import load

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "ci-artifacts" / "screenshots"
FIRST_WAIT_MS = 20_000  # plotly.min.js is 4.8 MB: the first page takes ~4-5 s on a 2-core box
WAIT_MS = 10_000
HARDWARE = dict(load.DEFAULT_HARDWARE, rows=[4, 8], cols=[8], dataflow=["os", "ws"],
                wbits=[2, 4, 32], abits=[8, 32])


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, pointed at the system Chromium."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (scripts/setup.sh does)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


def serve(results: load.Results):
    """Start the app on a free loopback port in a daemon thread; returns (url, server)."""
    server = make_server("127.0.0.1", 0, dash_app.create_app(results).server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/", server


@pytest.fixture(scope="module")
def results_folder(tmp_path_factory) -> Path:
    """A results folder as a user would have it: a sweep, measured accuracy, no footprint."""
    folder = tmp_path_factory.mktemp("results")
    # without the committed measured families, so the counts below are the test's own rows
    sweep = load.default_sweep(models=("resnet44", "resnet56"), hardware=HARDWARE,
                               measured=pd.DataFrame(columns=list(ACCURACY_COLUMNS)))
    sweep.to_csv(folder / "sweep.csv", index=False)
    measured = pd.DataFrame(
        [dict(model="resnet56", dataset="cifar10", wbits=2, abits=8, widen="first30", width=1,
              teacher="", scheme="wrpn", epochs=3, seed=seed, top1_err=err, source="measured")
         for seed, err in ((0, 9.0), (1, 10.0))], columns=list(ACCURACY_COLUMNS))
    measured.to_csv(folder / "accuracy.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def served(results_folder):
    results = load.load(results_folder)
    url, server = serve(results)
    yield url, results
    server.shutdown()


@pytest.fixture
def console(page):
    """Errors the page reports: console.error calls and uncaught exceptions."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.set_default_timeout(WAIT_MS)
    return errors


def graph(selector: str) -> str:
    return f"document.querySelector('{selector} .js-plotly-plot')"


def wait_for_figure(page, selector: str, timeout: int = WAIT_MS) -> None:
    page.wait_for_function(f"() => {{ const g = {graph(selector)}; "
                           "return g && g._fullData && g._fullData.length > 0; }",
                           timeout=timeout)


def traces(page, selector: str) -> list[dict]:
    """name, length, x, y and customdata of every trace as plotly drew them."""
    return page.evaluate(
        f"() => {graph(selector)}._fullData.map(t => ({{name: t.name, n: t._length, "
        "x: t.x ? Array.from(t.x) : [], y: t.y ? Array.from(t.y) : [], "
        "z: t.z ? Array.from(t.z, r => Array.from(r)) : [], "
        "ids: t.customdata ? Array.from(t.customdata) : []}))")


def wait_for_change(page, selector: str, before: str) -> None:
    """Wait until the figure's JSON (names, lengths, first values) differs from ``before``."""
    page.wait_for_function(
        f"(before) => {{ const g = {graph(selector)}; if (!g || !g._fullData) return false; "
        "const now = JSON.stringify(g._fullData.map(t => [t.name, t._length, "
        "t.x ? Array.from(t.x).slice(0, 5) : 0, t.y ? Array.from(t.y).slice(0, 5) : 0, "
        "t.z ? t.z.length : 0])); return now !== before; }", arg=before, timeout=WAIT_MS)


def signature(page, selector: str) -> str:
    return page.evaluate(
        f"() => JSON.stringify({graph(selector)}._fullData.map(t => [t.name, t._length, "
        "t.x ? Array.from(t.x).slice(0, 5) : 0, t.y ? Array.from(t.y).slice(0, 5) : 0, "
        "t.z ? t.z.length : 0]))")


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let the last transition settle
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def open_tab(page, label: str) -> None:
    page.locator("#tabs").get_by_text(label, exact=True).click()


def choose(page, dropdown_id: str, option: str) -> None:
    """Pick an option of a Dash 4 dropdown."""
    page.click(f"#{dropdown_id}")
    page.get_by_role("option", name=option, exact=True).click()


def test_four_views_respond_to_their_controls(page, console, served):
    url, results = served
    sweep = results.sweep
    page.goto(url)

    # 1. Accuracy vs compute cost: paper and measured series, then the x axis switched.
    wait_for_figure(page, "#acc-graph", FIRST_WAIT_MS)
    drawn = traces(page, "#acc-graph")
    names = [t["name"] for t in drawn]
    assert any(n.startswith("paper:") for n in names)
    assert any(n.startswith("measured:") for n in names) and "Pareto front" in names
    points = page.locator("#acc-graph .scatterlayer .trace:not(:last-child) .point").count()
    assert points == 48 + 1  # the paper's Tables 1-4 on ResNet-44/56, one measured point
    before = signature(page, "#acc-graph")
    page.get_by_label("energy per inference (uJ)").check()
    wait_for_change(page, "#acc-graph", before)
    assert page.locator("#acc-graph .xtitle").text_content() == "energy per inference (uJ)"
    shoot(page, "1-accuracy-vs-cost")

    # 2. Memory footprint: seven networks, weights and activations; inference shrinks it.
    open_tab(page, "Memory footprint")
    wait_for_figure(page, "#fp-graph")
    assert page.locator("#fp-graph .barlayer .point").count() == 2 * 7
    training = traces(page, "#fp-graph")[1]["y"]
    before = signature(page, "#fp-graph")
    page.get_by_label("inference").check()
    wait_for_change(page, "#fp-graph", before)
    inference = traces(page, "#fp-graph")[1]["y"]
    assert all(i < t for i, t in zip(inference, training))
    shoot(page, "2-memory-footprint")

    # 3. Explorer: every point drawn, a filter applied, the Pareto CSV downloaded.
    open_tab(page, "Design-space explorer")
    wait_for_figure(page, "#ex-graph")
    drawn = traces(page, "#ex-graph")
    assert sum(t["n"] for t in drawn if not t["name"].startswith("Pareto")) == len(sweep)
    before = signature(page, "#ex-graph")
    page.locator("#ex-dataflow").get_by_label("ws").uncheck()
    wait_for_change(page, "#ex-graph", before)
    drawn = traces(page, "#ex-graph")
    kept = sweep[sweep["dataflow"] == "os"]
    assert sum(t["n"] for t in drawn if not t["name"].startswith("Pareto")) == len(kept)
    front = next(t for t in drawn if t["name"].startswith("Pareto"))
    assert page.locator("#ex-graph .scatterlayer .trace .point").count() == front["n"]
    assert set(front["ids"]) <= set(kept["point_id"])
    with page.expect_download() as download:
        page.get_by_role("button", name="Export Pareto CSV").click()
    assert download.value.suggested_filename == "pareto.csv"
    exported = pd.read_csv(io.StringIO(Path(download.value.path()).read_text()))
    assert list(exported.columns) == list(sweep.columns)
    assert list(exported["point_id"]) == front["ids"]
    expected = sweep.set_index("point_id").loc[front["ids"]]
    assert (exported["area_mm2"].to_numpy() == expected["area_mm2"].to_numpy()).all()
    assert page.locator("#ex-table-caption").inner_text().startswith(
        f"Pareto front: {front['n']} points")
    shoot(page, "3-design-space-explorer")

    # 4. Inside the array: the heat map is rows x cols, and follows a change of rows.
    open_tab(page, "Inside the array")
    wait_for_figure(page, "#arr-heatmap")
    wait_for_figure(page, "#arr-timeline")
    assert len(traces(page, "#arr-heatmap")[0]["z"]) == 8
    before = signature(page, "#arr-heatmap")
    choose(page, "arr-rows", "4")
    wait_for_change(page, "#arr-heatmap", before)
    heat = traces(page, "#arr-heatmap")[0]["z"]
    assert len(heat) == 4 and len(heat[0]) == 8 and sum(map(sum, heat)) > 0
    assert traces(page, "#arr-timeline")[0]["n"] > 0
    shoot(page, "4-inside-the-array")
    assert console == []


def test_explorer_click_loads_the_point_inside_the_array(page, console, served):
    url, results = served
    page.goto(url)
    wait_for_figure(page, "#acc-graph", FIRST_WAIT_MS)
    open_tab(page, "Design-space explorer")
    wait_for_figure(page, "#ex-graph")
    front = next(t for t in traces(page, "#ex-graph") if t["name"].startswith("Pareto"))
    # Plotly picks the clicked point from the mouse's hover position: move there, then click.
    box = page.locator("#ex-graph .scatterlayer .trace .point").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.wait_for_timeout(300)
    with page.expect_response(lambda r: "arr-network" in (r.request.post_data or "")) as picking:
        page.mouse.down()
        page.mouse.up()
    assert picking.value.status == 200  # 204 would mean the click named no design point
    # Points on top of each other (teachers share hardware figures): take the one plotly picked.
    picked = page.evaluate(f"() => {graph('#ex-graph')}._hoverdata[0].customdata")
    assert picked in front["ids"]
    open_tab(page, "Inside the array")
    wait_for_figure(page, "#arr-heatmap")
    point = results.sweep.set_index("point_id").loc[picked]
    page.wait_for_function(
        f"() => {graph('#arr-heatmap')}._fullData[0].z.length === {int(point['rows'])}",
        timeout=WAIT_MS)
    assert page.locator("#arr-rows").inner_text().strip() == str(point["rows"])
    assert page.locator("#arr-dataflow").inner_text().strip() == point["dataflow"]
    assert console == []


def test_malformed_csv_shows_a_message_not_a_traceback(page, console, tmp_path):
    (tmp_path / "sweep.csv").write_text("model,rows,cols,dataflow,wbits,abits\n"
                                        "resnet56,eight,8,os,2,8\n")
    url, server = serve(load.load(tmp_path))
    try:
        page.goto(url)
        message = page.locator("#messages .message")
        message.wait_for(timeout=FIRST_WAIT_MS)
        assert "sweep.csv line 2: rows='eight' is not an integer" in message.inner_text()
        note = page.locator("#acc-graph .annotation-text")
        note.wait_for()
        assert note.text_content() == "No sweep to take costs from."
        assert "Traceback" not in page.content()
        shoot(page, "5-malformed-csv")
    finally:
        server.shutdown()
    assert console == []

"""Workloads: the CIFAR ResNets, widening, im2col, and the three file formats."""
import numpy as np
import pytest

from accelsim.workload import (Layer, Workload, builtin, im2col, read_workload, resnet_cifar,
                               scalesim_topology_text, trace_csv_text, weights_to_gemm,
                               write_trace)

# MACs and weights of He et al.'s CIFAR ResNets (3x3 convs + FC, no BN/bias), counted by hand:
# conv1 27*16*1024; stage s has 2n convs of 9*C_in*C_out on (32/2^s)^2 pixels; FC 64*10.
RESNET20_MACS = 40_551_040
RESNET56_MACS = 125_485_696


def test_resnet_layers_and_macs():
    r20 = builtin("resnet20")
    assert len(r20.layers) == 20
    assert sum(layer.macs for layer in r20.layers) == RESNET20_MACS
    assert sum(layer.macs for layer in builtin("resnet56").layers) == RESNET56_MACS
    # He et al.'s "0.27M" parameters: 268,336 conv/FC weights (269,722 with BN and the FC bias)
    assert sum(layer.weight_count for layer in r20.layers) == 268_336
    assert [len(builtin(f"resnet{d}").layers) for d in (32, 44, 110)] == [32, 44, 110]


def test_resnet_shapes_follow_he_et_al():
    layers = {layer.name: layer for layer in builtin("resnet20").layers}
    assert layers["conv1"].gemm() == (1024, 16, 27)
    assert layers["stage2.block1.conv1"].gemm() == (256, 32, 144)   # stride 2: 32 -> 16
    assert layers["stage2.block1.conv2"].gemm() == (256, 32, 288)
    assert layers["stage3.block3.conv2"].gemm() == (64, 64, 576)
    assert layers["fc"].gemm() == (1, 10, 64)
    assert layers["fc"].gemm(batch=32) == (32, 10, 64)


def test_widen_first30_doubles_the_first_third():
    plain = {l.name: l for l in builtin("resnet20").layers}
    wide = {l.name: l for l in builtin("resnet20", widen="first30").layers}
    doubled = [name for name in plain if wide[name].num_filters == 2 * plain[name].num_filters]
    assert doubled == ["conv1"] + [f"stage1.block{b}.conv{c}" for b in (1, 2, 3) for c in (1, 2)]
    assert len(doubled) / len(plain) == pytest.approx(0.35)  # 7 of 20 layers, "first 30%"
    assert wide["stage2.block1.conv1"].channels == 32       # reads the doubled stream
    assert wide["stage2.block1.conv1"].num_filters == 32


def test_widen_all_equals_width_two():
    assert builtin("resnet32", widen="all").layers == builtin("resnet32", width=2).layers


def test_fashion_mnist_shapes_and_full_precision_ends():
    net = resnet_cifar(20, in_channels=1, image_size=28, full_precision_ends=True)
    assert net.layers[0].gemm() == (784, 16, 9)
    assert net.layers[-2].ofmap_h == 7
    assert (net.layers[0].wbits, net.layers[-1].abits) == (32, 32)
    assert net.layers[1].wbits == 2


FIRST_HEADER = "layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,wbits,abits"


def test_trace_round_trip(tmp_path):
    net = builtin("resnet20", widen="first30")
    path = write_trace(net, tmp_path / "r20.csv")
    # the FC is a linear row: the header grows as far as the op column, no further
    assert path.read_text().splitlines()[0] == FIRST_HEADER + ",groups,op"
    assert read_workload(path).layers == net.layers
    assert trace_csv_text(read_workload(path)) == trace_csv_text(net)
    convs = Workload("convs", net.layers[:-1])
    assert trace_csv_text(convs).splitlines()[0] == FIRST_HEADER


def test_every_older_trace_header_still_reads(tmp_path):
    rows = ["c1,32,32,3,3,16,32,1,1,2,8", "fc,1,1,1,1,64,10,1,0,32,32"]
    extras = [",4,conv,array,1", ",1,linear,array,1"]
    for count, header in enumerate(["", ",groups", ",groups,op", ",groups,op,runs_on",
                                    ",groups,op,runs_on,batch"]):
        path = tmp_path / f"t{count}.csv"
        cells = [row + ",".join(e.split(",")[:count + 1]) for row, e in zip(rows, extras)]
        path.write_text("\n".join([FIRST_HEADER + header] + cells) + "\n")
        c1, fc = read_workload(path).layers
        assert c1.groups == (4 if count >= 1 else 1)
        assert fc.op == ("linear" if count >= 2 else "conv")
        assert (c1.runs_on, c1.batch) == ("array", 1)
    # empty trailing cells take the defaults
    path.write_text(FIRST_HEADER + ",groups,op,runs_on,batch\nc1,32,32,3,3,16,32,1,1,2,8,,,,\n")
    assert read_workload(path).layers[0] == Layer("c1", 32, 32, 3, 3, 16, 32, 1, 1, 2, 8)


def test_grouped_matmul_and_host_rows():
    depthwise = Layer("dw", 14, 14, 3, 3, 32, 32, 1, 1, groups=32)
    assert depthwise.gemm() == (196, 1, 9) and depthwise.gemm_count() == 32
    assert depthwise.macs == 196 * 9 * 32 and depthwise.weight_count == 9 * 32
    grouped = Layer("g", 8, 8, 3, 3, 64, 128, 2, 1, groups=4)
    assert grouped.gemm(batch=2) == (2 * 16, 32, 144) and grouped.gemm_count(2) == 4
    qk = Layer("qk", 197, 1, 1, 1, 64, 197, op="matmul", batch=12)
    assert qk.gemm(batch=2) == (197, 197, 64) and qk.gemm_count(batch=2) == 24
    sizes = qk.sizes(2)
    assert sizes["filter_elems"] == 24 * 64 * 197 and sizes["weight_elems"] == 0
    assert sizes["ofmap_elems"] == 24 * 197 * 197 and sizes["ifmap_elems"] == 24 * 197 * 64
    add = Layer("add", 8, 8, 1, 1, 64, 64, op="add", runs_on="host")
    assert add.gemm() == (0, 0, 0) and add.gemm_count() == 0 and add.macs == 0
    assert add.sizes()["ifmap_elems"] == 2 * 8 * 8 * 64 and add.sizes()["ofmap_elems"] == 4096
    pool = Layer("pool", 112, 112, 3, 3, 64, 64, 2, 1, op="pool", runs_on="host")
    assert pool.sizes()["ofmap_elems"] == 56 * 56 * 64


@pytest.mark.parametrize("kwargs, message", [
    (dict(groups=3), "groups=3 needs a conv"),
    (dict(op="softmax"), "does not run on the array"),
    (dict(op="matmul"), "1x1 filter"),
    (dict(runs_on="cpu"), "runs_on='cpu'"),
    (dict(op="Conv"), "lower-case"),
    (dict(batch=2), "fold them into ifmap_h"),
])
def test_bad_rows_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Layer("x", 8, 8, 3, 3, 16, 32, 1, 1, **kwargs)


def test_scalesim_topology_gives_the_same_gemms(tmp_path):
    net = builtin("resnet20")
    topo = tmp_path / "resnet20_scalesim.csv"
    topo.write_text(scalesim_topology_text(net))
    lines = topo.read_text().splitlines()
    assert lines[0].startswith("Layer name, IFMAP Height") and lines[1].endswith(",")
    # 3x3 stride 1 on 32: padded 34; 3x3 stride 2 on 32: padded 33 (SCALE-Sim has no padding)
    assert lines[1].startswith("conv1, 34, 34, 3, 3, 3, 16, 1")
    assert lines[8].startswith("stage2.block1.conv1, 33, 33, 3, 3, 16, 32, 2")
    back = read_workload(topo)
    assert [l.gemm() for l in back.layers] == [l.gemm() for l in net.layers]


def test_scalesim_gemm_form(tmp_path):
    topo = tmp_path / "gemm.csv"
    topo.write_text("Layer, M, N, K,\nQKT, 1024, 1024, 64,\nFF, 512, 3072, 768,\n")
    net = read_workload(topo, wbits=4, abits=8)
    assert [l.gemm() for l in net.layers] == [(1024, 1024, 64), (512, 3072, 768)]
    assert net.layers[0].wbits == 4


def test_im2col_matches_a_direct_convolution():
    rng = np.random.default_rng(0)
    layer = Layer("c", 7, 6, 3, 3, 4, 5, stride=2, pad=1)
    x = rng.integers(0, 255, size=(7, 6, 4))
    filters = rng.integers(-1, 2, size=(5, 4, 3, 3))  # (N, C, R, S)
    gemm = im2col(x, layer) @ weights_to_gemm(filters)
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    direct = np.zeros((layer.ofmap_h, layer.ofmap_w, 5), dtype=np.int64)
    for oy in range(layer.ofmap_h):
        for ox in range(layer.ofmap_w):
            window = padded[oy * 2:oy * 2 + 3, ox * 2:ox * 2 + 3, :]  # (R, S, C)
            for f in range(5):
                direct[oy, ox, f] = (window * filters[f].transpose(1, 2, 0)).sum()
    np.testing.assert_array_equal(gemm.reshape(layer.ofmap_h, layer.ofmap_w, 5), direct)


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,wbits,abits\n",
     "no layers"),
    ("a,b,c\n1,2,3\n", "unrecognised header"),
    ("layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,wbits,abits\n"
     "c1,32,32,3,3,3,x,1,1,2,8\n", "line 2: num_filters='x' is not an integer"),
    ("layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,wbits,abits\n"
     "c1,32,32,3,3,3,16,1,1,3,8\n" "c2,32,32,3,3,0,16,1,1,2,8\n", "line 3: layer 'c2': channels"),
    ("layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,wbits,abits\n"
     "c1,32,32,3,3,3,16,1,1,20,8\n", "wbits=20"),
    ("Layer, M, N, K,\nfc, 4, 5,\n", "expected 4 fields"),
    ("layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,wbits,abits,groups\n"
     "c1,32,32,3,3,16,32,1,1,2,8,x\n", "line 2: groups='x' is not an integer"),
    ("layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,wbits,abits,op\n"
     "c1,32,32,3,3,16,32,1,1,2,8,conv\n", "unrecognised header"),
    ("layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,wbits,abits\n"
     "c1,32,32,3,3,16,32,1,1,2,8,4\n", "more than the header's 11"),
])
def test_malformed_traces_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_workload(path)


def test_missing_trace_and_unknown_model():
    with pytest.raises(ValueError, match="no such file"):
        read_workload("/nonexistent/trace.csv")
    with pytest.raises(ValueError, match="built-in networks are resnet20"):
        builtin("vgg16")
    with pytest.raises(ValueError, match="widen='half'"):
        builtin("resnet20", widen="half")


def test_atomic_writes_respect_the_umask(tmp_path):
    import os
    import stat

    from accelsim.fileio import write_atomic

    old = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "new" / "f.csv", "a,b\n")
    finally:
        os.umask(old)
    assert path.read_text() == "a,b\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["f.csv"]   # no temporary left


def test_builtin_resnets_fold_their_shortcuts_and_mark_array_widths(tmp_path):
    net = builtin("resnet20", full_precision_ends=True)
    shortcuts = {layer.name: layer.residual_elems for layer in net.layers if layer.residual_elems}
    assert len(shortcuts) == 9 and all(name.endswith("conv2") for name in shortcuts)
    assert shortcuts["stage1.block1.conv2"] == 32 * 32 * 16
    assert shortcuts["stage2.block1.conv2"] == 16 * 16 * 16   # option A: subsampled, padded
    assert shortcuts["stage2.block2.conv2"] == 16 * 16 * 32
    # the quantized layers take the array's widths, the fp32 ends keep theirs
    on_4x4 = net.at_widths(4, 4)
    assert [(layer.wbits, layer.abits) for layer in on_4x4.layers[:2]] == [(32, 32), (4, 4)]
    assert (on_4x4.layers[-1].wbits, on_4x4.layers[-1].abits) == (32, 32)
    # a trace keeps its own widths; a trace writes an add as a host row, not a folded shortcut
    read = read_workload(write_trace(net, tmp_path / "r20.csv"))
    assert read.at_widths(4, 4) == read and not any(layer.residual_elems for layer in read.layers)

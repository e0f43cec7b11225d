"""ONNX import (no torch): GEMM ops, QONNX / QCDQ / QLinear widths, host ops, bad files."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import dse.sweep as sweep  # noqa: E402
from accelsim import ArrayConfig, simulate_network  # noqa: E402
from accelsim.__main__ import main as accelsim_main  # noqa: E402
from accelsim.onnx_import import read_onnx  # noqa: E402
from accelsim.workload import Layer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _init(name, array, dtype=None):
    return numpy_helper.from_array(np.asarray(array, dtype=dtype or np.float32), name)


def _save(tmp_path, nodes, inits, x_shape, name="net", opset=13, extra_opsets=()):
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)], inits)
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in extra_opsets]
    path = tmp_path / f"{name}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))
    return path


def _conv_net(tmp_path, x_shape=(1, 3, 8, 8)):
    """conv 3x3 -> relu -> depthwise 3x3 stride 2 -> global pool -> flatten -> gemm."""
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="/conv1/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="/relu/Relu"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="/block/dw/Conv", group=8,
                         strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c2"], ["p"], name="/pool/GlobalAveragePool"),
        helper.make_node("Flatten", ["p"], ["f"], name="/Flatten"),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], name="/fc/Gemm", transB=1),
    ]
    inits = [_init("w1", rng.standard_normal((8, 3, 3, 3))),
             _init("w2", rng.standard_normal((8, 1, 3, 3))), _init("b2", np.zeros(8)),
             _init("w3", rng.standard_normal((10, 8))), _init("b3", np.zeros(10))]
    return _save(tmp_path, nodes, inits, x_shape)


def test_convs_depthwise_gemm_and_host_ops(tmp_path):
    net = read_onnx(_conv_net(tmp_path))
    rows = {layer.name: layer for layer in net.layers}
    assert [layer.name for layer in net.layers] == ["conv1", "relu.act", "block.dw",
                                                    "pool.pool", "fc"]
    assert rows["conv1"] == Layer("conv1", 8, 8, 3, 3, 3, 8, 1, 1, 32, 32)
    assert rows["block.dw"] == Layer("block.dw", 8, 8, 3, 3, 8, 8, 2, 1, 32, 32, groups=8)
    assert rows["fc"] == Layer("fc", 1, 1, 1, 1, 8, 10, 1, 0, 32, 32, op="linear")
    assert rows["pool.pool"].runs_on == "host"
    assert rows["pool.pool"].sizes()["ofmap_elems"] == 8
    frame = simulate_network(net, ArrayConfig(4, 4), engine="analytic")
    assert frame["macs"].sum() == 8 * 8 * 27 * 8 + 16 * 9 * 8 + 80


def _matmul_net(tmp_path, dynamic=False):
    """Attention's core on (N, heads=2, T=5, d=4): QK^T, softmax, AV, and a projection."""
    shape = ["N", 2, 5, 4] if dynamic else [3, 2, 5, 4]
    nodes = [
        helper.make_node("Transpose", ["x"], ["kt"], name="/attn/Transpose", perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["x", "kt"], ["s"], name="/attn/MatMul"),
        helper.make_node("Softmax", ["s"], ["p"], name="/attn/Softmax", axis=-1),
        helper.make_node("MatMul", ["p", "x"], ["o"], name="/attn/MatMul_1"),
        helper.make_node("MatMul", ["o", "w"], ["y"], name="/proj/MatMul"),
    ]
    return _save(tmp_path, nodes, [_init("w", np.ones((4, 6)))], shape, name="attn")


def test_matmuls_with_their_batch_of_heads(tmp_path):
    net = read_onnx(_matmul_net(tmp_path))
    qk, softmax, av, proj = net.layers
    assert (qk.name, qk.op, qk.batch, qk.gemm()) == ("attn.matmul", "matmul", 2, (5, 5, 4))
    assert (av.name, av.batch, av.gemm()) == ("attn.matmul_1", 2, (5, 4, 5))
    assert softmax.op == "softmax" and softmax.runs_on == "host"
    # a constant second operand is a weight: a linear row, every leading dim a row of M
    assert (proj.op, proj.gemm()) == ("linear", (2 * 5, 6, 4))


def test_dynamic_input_needs_a_shape(tmp_path):
    path = _matmul_net(tmp_path, dynamic=True)
    with pytest.raises(ValueError, match="dynamic dimensions N; give its shape"):
        read_onnx(path)
    assert read_onnx(path, input_shape=(1, 2, 5, 4)).layers[0].batch == 2
    with pytest.raises(ValueError, match="has 4 dimensions"):
        read_onnx(path, input_shape=(1, 2, 5))


def test_qcdq_widths_from_quantize_linear_and_clip(tmp_path):
    """QCDQ: activations through uint8 Q/DQ (8 bits); weights int8 clipped to [-1, 1]
    (ternary: 2 bits) for the conv and to [-8, 7] (4 bits) for the gemm."""
    rng = np.random.default_rng(1)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "zu"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "zu"], ["xd"]),
        helper.make_node("QuantizeLinear", ["w1", "s", "zi"], ["w1q"]),
        helper.make_node("Clip", ["w1q", "lo1", "hi1"], ["w1c"]),
        helper.make_node("DequantizeLinear", ["w1c", "s", "zi"], ["w1d"]),
        helper.make_node("Conv", ["xd", "w1d"], ["c"], name="/conv/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("QuantizeLinear", ["r", "s", "zu"], ["rq"]),
        helper.make_node("Clip", ["rq", "lo2u", "hi2u"], ["rc"]),    # 0..15: 4-bit activations
        helper.make_node("DequantizeLinear", ["rc", "s", "zu"], ["rd"]),
        helper.make_node("Flatten", ["rd"], ["f"]),
        helper.make_node("QuantizeLinear", ["w2", "s", "zi"], ["w2q"]),
        helper.make_node("Clip", ["w2q", "lo2", "hi2"], ["w2c"]),
        helper.make_node("DequantizeLinear", ["w2c", "s", "zi"], ["w2d"]),
        helper.make_node("Gemm", ["f", "w2d"], ["y"], name="/fc/Gemm", transB=1),
    ]
    inits = [_init("s", 0.1), _init("zu", 0, np.uint8), _init("zi", 0, np.int8),
             _init("lo1", -1, np.int8), _init("hi1", 1, np.int8),
             _init("lo2", -8, np.int8), _init("hi2", 7, np.int8),
             _init("lo2u", 0, np.uint8), _init("hi2u", 15, np.uint8),
             _init("w1", rng.standard_normal((4, 3, 3, 3))),
             _init("w2", rng.standard_normal((5, 4 * 4 * 4)))]
    conv, relu, fc = read_onnx(_save(tmp_path, nodes, inits, (1, 3, 4, 4))).layers
    assert (conv.wbits, conv.abits) == (2, 8)
    assert (fc.wbits, fc.abits, fc.op) == (4, 4, "linear")
    assert relu.runs_on == "host"
    # a float Clip after the DequantizeLinear is a ReLU6 on the grid, not a narrower width
    nodes[5:5] = [helper.make_node("Clip", ["xd", "zero", "six"], ["x6"])]
    nodes[6] = helper.make_node("Conv", ["x6", "w1d"], ["c"], name="/conv/Conv", pads=[1] * 4)
    inits += [_init("zero", 0.0), _init("six", 6.0)]
    relu6, conv, _, fc = read_onnx(_save(tmp_path, nodes, inits, (1, 3, 4, 4))).layers
    assert relu6.op == "act" and (conv.wbits, conv.abits) == (2, 8)


def test_qonnx_quant_nodes_and_qlinear_ops(tmp_path):
    domain = "qonnx.custom_op.general"
    rng = np.random.default_rng(2)
    nodes = [
        helper.make_node("Quant", ["x", "s", "z", "b4"], ["xq"], domain=domain, signed=0,
                         narrow=0, rounding_mode="ROUND"),
        helper.make_node("BipolarQuant", ["w1", "s"], ["w1q"], domain=domain),
        helper.make_node("Conv", ["xq", "w1q"], ["y"], name="/conv/Conv"),
    ]
    inits = [_init("s", 1.0), _init("z", 0.0), _init("b4", 4.0),
             _init("w1", rng.standard_normal((6, 3, 1, 1)))]
    (conv,) = read_onnx(_save(tmp_path, nodes, inits, (1, 3, 5, 5), extra_opsets=[domain])
                        ).layers
    assert (conv.wbits, conv.abits, conv.gemm()) == (1, 4, (25, 6, 3))

    # the integer operator form: QLinearConv, then QLinearMatMul, 8-bit by their types
    graph = helper.make_graph(
        [helper.make_node("QLinearConv", ["x", "s", "zu", "w", "s", "zi", "s", "zu"], ["c"],
                          name="/conv/QLinearConv"),
         helper.make_node("Reshape", ["c", "shape"], ["f"]),
         helper.make_node("QLinearMatMul", ["f", "s", "zu", "m", "s", "zi", "s", "zu"], ["y"],
                          name="/fc/QLinearMatMul")],
        "qop", [helper.make_tensor_value_info("x", TensorProto.UINT8, (1, 2, 3, 3))],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, None)],
        [_init("s", 0.5), _init("zu", 0, np.uint8), _init("zi", 0, np.int8),
         _init("w", np.ones((4, 2, 1, 1)), np.int8), _init("shape", [1, 36], np.int64),
         _init("m", np.ones((36, 3)), np.int8)])
    path = tmp_path / "qop.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    conv, fc = read_onnx(path).layers
    assert (conv.wbits, conv.abits, fc.wbits, fc.abits, fc.op) == (8, 8, 8, 8, "linear")
    assert fc.gemm() == (1, 3, 36)


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("layer,a\n1,2\n"), "not an ONNX model"),
    (lambda p: p.write_bytes(b""), "not an ONNX model"),
    (lambda p: None, "no such file"),
])
def test_not_onnx(tmp_path, make, message):
    path = tmp_path / "model.onnx"
    make(path)
    with pytest.raises(ValueError, match=message):
        read_onnx(path)


@pytest.mark.parametrize("op, domain, message", [
    ("FooBar", "com.example", "unknown op com.example:FooBar"),
    ("ConvTranspose", "", "ConvTranspose is a GEMM-like op"),
])
def test_unknown_and_unmapped_ops(tmp_path, op, domain, message):
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node(op, ["r", "w"], ["y"], name="/odd", domain=domain)]
    path = _save(tmp_path, nodes, [_init("w", np.ones((3, 3, 1, 1)))], (1, 3, 4, 4),
                 extra_opsets=[domain] if domain else ())
    with pytest.raises(ValueError, match=message):
        read_onnx(path)


@pytest.mark.parametrize("module", ["accelsim", "dse.sweep"])
def test_command_lines(tmp_path, capsys, module):
    main = accelsim_main if module == "accelsim" else sweep.main
    good = _conv_net(tmp_path)
    bad = tmp_path / "bad.onnx"
    bad.write_text("not a model")
    dynamic = _matmul_net(tmp_path, dynamic=True)
    extra = ["--out", str(tmp_path / "o"), "--progress", "off"] if module == "dse.sweep" else []
    assert main(["--onnx", str(good), "--engine", "analytic", *extra]) == 0
    assert ("fc" if module == "accelsim" else "net (cifar10)") in capsys.readouterr().out
    assert main(["--onnx", str(dynamic), "--input", "1,2,5,4", "--engine", "analytic",
                 *extra]) == 0
    capsys.readouterr()
    for args, text in ((["--onnx", str(bad)], "not an ONNX model"),
                       (["--onnx", str(dynamic)], "dynamic dimensions"),
                       (["--onnx", str(dynamic), "--input", "1,x"], "tensor shape")):
        assert main([*args, "--engine", "analytic", *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and text in err, err
    # and as a process: one line, exit status 2, no traceback
    done = subprocess.run([sys.executable, "-m", module, "--onnx", str(bad)], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                          text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr

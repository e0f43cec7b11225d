"""Read an ONNX model as a workload (the ``onnx`` package; no torch).

    from accelsim.onnx_import import read_onnx
    workload = read_onnx("model.onnx", input_shape=(1, 3, 224, 224))

Shapes come from ONNX shape inference on the graph, with its input's shape fixed by
``input_shape`` where the file leaves dimensions dynamic.  Rows follow the graph's node order:
- GEMM ops become array rows: ``Conv``, ``ConvInteger``, ``QLinearConv`` (groups included) as
  convs; ``Gemm``, ``MatMul``, ``MatMulInteger``, ``QLinearMatMul`` as ``linear`` rows when
  their second operand is a constant (a weight, possibly through QuantizeLinear / Clip /
  DequantizeLinear or a Transpose) and as ``matmul`` rows (with their batch of heads) when it is
  computed;
- widths come from the graph's quantization where present: QONNX ``Quant`` nodes'
  ``bit_width`` (``BipolarQuant``: 1), QCDQ's ``QuantizeLinear`` output type (8 for (u)int8,
  4 for (u)int4, ...) narrowed by a ``Clip`` of the integers (bits = ceil(log2(max - min + 1))),
  carried through ``DequantizeLinear`` and shape-only ops to the GEMM's inputs; the integer
  GEMM ops take their inputs' types; elsewhere ``wbits``/``abits`` (default 32: a float model);
- the common non-GEMM ops (pooling, norms, softmax, elementwise, reductions, concat, pad) become
  host rows with their element counts; shape-only ops and the quantization annotations make
  no row;
- any other op, a GEMM-like op without a mapping (``ConvTranspose``, ``Einsum``, recurrent
  cells), or a file that is not ONNX is a ValueError of one line.
Layer names are the exporter's scopes: PyTorch's ``/layer1/layer1.0/conv1/Conv`` reads as
``layer1.0.conv1``, its module path, as ``training.fx_trace`` names it.
"""
from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from .config import FP32_BITS
from .graph import GraphError, conv_row, gemm_row, host_row, unique_names
from .workload import Layer, Workload

CONV_OPS = {"Conv": (0, 1), "ConvInteger": (0, 1), "QLinearConv": (0, 3)}  # (data, weight)
MATMUL_OPS = {"Gemm": (0, 1), "MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3)}
UNMAPPED_GEMM_OPS = ("ConvTranspose", "QLinearConvTranspose", "DeformConv", "Einsum", "LSTM",
                     "GRU", "RNN", "Attention", "MultiHeadAttention", "QAttention")
# Ops that make no row: shape bookkeeping and the quantization annotations widths come from.
NO_ROW_OPS = frozenset((
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity", "Shape", "Size",
    "Constant", "ConstantOfShape", "Cast", "CastLike", "Dropout", "Slice", "Gather", "Split",
    "Expand", "Range", "Quant", "BipolarQuant", "Trunc", "QuantizeLinear", "DequantizeLinear",
    "DynamicQuantizeLinear"))
HOST_OP_KINDS = {
    "pool": ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool",
             "GlobalLpPool", "QLinearAveragePool", "QLinearGlobalAveragePool"),
    "norm": ("BatchNormalization", "LayerNormalization", "InstanceNormalization",
             "GroupNormalization", "LpNormalization", "MeanVarianceNormalization",
             "RMSNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization", "LRN"),
    "softmax": ("Softmax", "LogSoftmax", "Hardmax"),
    "add": ("Add", "Sub", "Sum", "QLinearAdd"),
    "mul": ("Mul", "Div", "QLinearMul"),
    "act": ("Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "Tanh", "Erf", "Gelu",
            "FastGelu", "Elu", "Selu", "Celu", "Softplus", "Softsign", "HardSwish", "Mish",
            "Clip", "Exp", "Log", "Sqrt", "Pow", "Neg", "Abs", "Reciprocal", "Floor", "Ceil",
            "Round", "Sign", "Sin", "Cos", "QLinearSigmoid", "QLinearLeakyRelu"),
    "reduce": ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
               "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax",
               "ArgMin", "TopK", "CumSum"),
    "concat": ("Concat", "QLinearConcat"),
    "pad": ("Pad",),
    "other": ("Resize", "Upsample", "DepthToSpace", "SpaceToDepth", "Tile", "Where", "Max",
              "Min", "Mean", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
              "And", "Or", "Not", "Xor", "ScatterND", "GatherElements", "GatherND",
              "NonMaxSuppression", "Mod", "IsNaN", "IsInf", "Trilu", "OneHot"),
}
HOST_KIND = {op: kind for kind, ops in HOST_OP_KINDS.items() for op in ops}
# Ops that keep a tensor on its quantization grid (a float Clip is ReLU6 after a DQ)
WIDTH_PRESERVING_OPS = ("Identity", "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze",
                        "MaxPool", "Cast", "Relu", "Clip")
# ONNX TensorProto element types -> bits of the integer they hold.
QONNX_OPS = ("Quant", "BipolarQuant", "Trunc")
ANNOTATION_OPS = ("Quant", "BipolarQuant", "Trunc", "QuantizeLinear", "DequantizeLinear",
                  "DynamicQuantizeLinear", "Clip")
FOLD_LIMIT = 4096  # elements: constant subgraphs up to this size are evaluated at import
# u8, i8, u16, i16, i32, u32, u4, i4
INT_TYPE_BITS = {2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 12: 32, 21: 4, 22: 4}
SHAPE_TYPES = (7, 9)  # int64, bool: shape arithmetic and masks, no row


def read_onnx(path: str | os.PathLike, *, input_shape: tuple[int, ...] | None = None,
              wbits: int = FP32_BITS, abits: int = FP32_BITS) -> Workload:
    """The model's layers as a Workload (see the module docstring); ValueError on bad input."""
    try:
        import onnx
    except ImportError:
        raise ValueError("reading ONNX needs the onnx package (pip install onnx)") from None
    path = Path(path)
    where = f"onnx {str(path)!r}"
    if not path.is_file():
        raise ValueError(f"{where}: no such file")
    try:
        model = onnx.load(str(path))
    except Exception as err:  # protobuf's DecodeError and friends: not an ONNX file
        raise ValueError(f"{where}: not an ONNX model ({type(err).__name__})") from None
    if model.ir_version < 1 or not model.graph.node:
        raise ValueError(f"{where}: not an ONNX model (no graph)")
    _fix_input_shape(model, input_shape, where)
    _fold_constants(model, onnx)
    try:
        _infer_shapes(model, onnx)
    except Exception as err:
        raise ValueError(f"{where}: ONNX shape inference failed ({str(err).splitlines()[0]})"
                         ) from None
    try:
        layers = _Importer(model.graph, onnx, wbits, abits).layers()
    except GraphError as err:
        raise ValueError(f"{where}: {err}") from None
    if not layers:
        raise ValueError(f"{where}: the graph has no layer this importer maps")
    return Workload(path.stem, tuple(layers))


def _graph_inputs(graph) -> list:
    initializers = {init.name for init in graph.initializer}
    return [value for value in graph.input if value.name not in initializers]


def _fix_input_shape(model, input_shape, where: str) -> None:
    inputs = _graph_inputs(model.graph)
    if not inputs:
        raise ValueError(f"{where}: the graph has no input")
    for i, value in enumerate(inputs):
        dims = value.type.tensor_type.shape.dim
        dynamic = [d.dim_param or "?" for d in dims if not d.dim_value]
        if i == 0 and input_shape is not None:
            if len(input_shape) != len(dims):
                raise ValueError(f"{where}: input {value.name!r} has {len(dims)} dimensions, "
                                 f"the given shape {tuple(input_shape)} has {len(input_shape)}")
            for dim, size in zip(dims, input_shape):
                if dim.dim_value and dim.dim_value != size:
                    raise ValueError(f"{where}: input {value.name!r} has dimension "
                                     f"{dim.dim_value} where the given shape has {size}")
                dim.ClearField("dim_param")
                dim.dim_value = int(size)
        elif dynamic:
            hint = " (e.g. --input 1,3,224,224)" if i == 0 else "; only the first input's " \
                   "shape can be given"
            raise ValueError(f"{where}: input {value.name!r} has dynamic dimensions "
                             f"{', '.join(dynamic)}; give its shape{hint}")


def _infer_shapes(model, onnx) -> None:
    """ONNX shape inference into the graph's value_info.  It knows no QONNX op, so it runs on
    a copy where each is an Identity of its input (which is what they do to a shape)."""
    qonnx = [i for i, node in enumerate(model.graph.node)
             if node.op_type in QONNX_OPS and node.domain not in ("", "ai.onnx")]
    probe = model
    if qonnx:
        probe = onnx.ModelProto()
        probe.CopyFrom(model)
        for i in qonnx:
            node = probe.graph.node[i]
            data = node.input[0]
            node.ClearField("input")
            node.ClearField("attribute")
            node.input.append(data)
            node.op_type, node.domain = "Identity", ""
    inferred = onnx.shape_inference.infer_shapes(probe, data_prop=True)
    for field in ("value_info", "output"):
        getattr(model.graph, field).__delitem__(slice(None))
        getattr(model.graph, field).extend(getattr(inferred.graph, field))


def _fold_constants(model, onnx) -> None:
    """Evaluate the graph's small constant subgraphs (exporters compute pad amounts and reshape
    targets that way) into initializers, so that shape inference can see through them.

    Quantization nodes are left alone: their widths are what the importer reads."""
    from onnx.reference import ReferenceEvaluator

    graph = model.graph
    values = {init.name: onnx.numpy_helper.to_array(init) for init in graph.initializer
              if math.prod(init.dims) <= FOLD_LIMIT}
    kept, folded = [], {}
    for node in graph.node:
        inputs = [name for name in node.input if name]
        foldable = (node.domain in ("", "ai.onnx") and node.op_type not in ANNOTATION_OPS
                    and all(name in values for name in inputs)
                    and sum(values[name].size for name in inputs) <= FOLD_LIMIT)
        if foldable:
            try:
                outputs = ReferenceEvaluator(node).run(None, {n: values[n] for n in inputs})
            except Exception:  # an op the reference evaluator lacks: leave it to the importer
                outputs = None
            if outputs is not None and all(np.asarray(o).size <= FOLD_LIMIT for o in outputs):
                for name, value in zip(node.output, outputs):
                    values[name] = folded[name] = np.asarray(value)
                continue
        kept.append(node)
    if not folded:
        return
    used = {name for node in kept for name in node.input} | {o.name for o in graph.output}
    graph.ClearField("node")
    graph.node.extend(kept)
    graph.initializer.extend(onnx.numpy_helper.from_array(value, name)
                             for name, value in folded.items() if name in used)


class _Importer:
    """One pass over the graph in node order: widths carried forward, rows appended."""

    def __init__(self, graph, onnx, wbits: int, abits: int):
        self.graph, self.onnx = graph, onnx
        self.default_bits = {"w": wbits, "a": abits}
        self.initializers = {init.name: init for init in graph.initializer}
        self.constants = set(self.initializers)   # tensors computed from constants only
        self.values: dict[str, np.ndarray] = {}   # Constant nodes' outputs
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.types: dict[str, int] = {}
        for value in list(graph.input) + list(graph.value_info) + list(graph.output):
            tensor = value.type.tensor_type
            self.types[value.name] = tensor.elem_type
            if tensor.HasField("shape") and all(d.dim_value for d in tensor.shape.dim):
                self.shapes[value.name] = tuple(d.dim_value for d in tensor.shape.dim)
        for init in graph.initializer:
            self.shapes[init.name], self.types[init.name] = tuple(init.dims), init.data_type
        first = self.shapes.get(_graph_inputs(graph)[0].name, ())
        self.samples = first[0] if len(first) >= 2 else 1
        self.bits: dict[str, int] = {}

    def value(self, name: str) -> np.ndarray | None:
        if name in self.values:
            return self.values[name]
        if name in self.initializers:
            return self.onnx.numpy_helper.to_array(self.initializers[name])
        return None

    def shape(self, name: str, node) -> tuple[int, ...]:
        if name not in self.shapes:
            raise GraphError(f"node {node.name or node.op_type!r} ({node.op_type}): the shape "
                             f"of {name!r} is unknown after shape inference")
        return self.shapes[name]

    def layers(self) -> list[Layer]:
        rows: list[Layer] = []
        names: list[str] = []
        for node in self.graph.node:
            self._track(node)
            layer = self._row(node)
            if layer is not None:
                rows.append(layer)
                names.append(layer.name)
        return [_renamed(layer, name) for layer, name in zip(rows, unique_names(names))]

    def _track(self, node) -> None:
        """Constants, Constant values and widths flowing forward through the node."""
        inputs = [name for name in node.input if name]
        if node.op_type == "Constant" and node.attribute:
            value = self.onnx.helper.get_attribute_value(node.attribute[0])
            if isinstance(value, self.onnx.TensorProto):
                value = self.onnx.numpy_helper.to_array(value)
            self.values[node.output[0]] = np.asarray(value)
        if all(name in self.constants for name in inputs):
            self.constants.update(node.output)
        bits = self._output_bits(node, inputs)
        if bits is not None:
            self.bits[node.output[0]] = bits

    def _output_bits(self, node, inputs: list[str]) -> int | None:
        op = node.op_type
        if op == "Quant":
            width = self.value(inputs[3]) if len(inputs) > 3 else None
            return int(round(float(width))) if width is not None else None
        if op == "BipolarQuant":
            return 1
        if op == "QuantizeLinear":
            kind = self.types.get(inputs[2]) if len(inputs) > 2 else 2  # default uint8
            return INT_TYPE_BITS.get(kind or self.types.get(node.output[0]))
        if self._clips_codes(node):
            low, high = (self._clip_bound(node, inputs, i) for i in (1, 2))
            if low is None or high is None:
                return self.bits[inputs[0]]
            return max(1, math.ceil(math.log2(high - low + 1)))
        if op in ("DequantizeLinear",) + WIDTH_PRESERVING_OPS and inputs and inputs[0] in self.bits:
            return self.bits[inputs[0]]
        return None

    def _clips_codes(self, node) -> bool:
        """A QCDQ Clip: it narrows the integer codes of a QuantizeLinear (not a float ReLU6)."""
        return (node.op_type == "Clip" and bool(node.input) and node.input[0] in self.bits
                and self.types.get(node.input[0]) in INT_TYPE_BITS)

    def _clip_bound(self, node, inputs: list[str], index: int) -> float | None:
        if len(inputs) > index:
            value = self.value(inputs[index])
            return None if value is None else float(value)
        for attr in node.attribute:  # opset < 11 gives the bounds as attributes
            if attr.name == ("min", "max")[index - 1]:
                return float(attr.f)
        return None

    def _width(self, node, name: str, role: str) -> int:
        if node.op_type.startswith(("QLinear", "ConvInteger", "MatMulInteger")):
            bits = INT_TYPE_BITS.get(self.types.get(name))
            if bits is not None:
                return bits
        return self.bits.get(name, self.default_bits[role])

    def _row(self, node) -> Layer | None:
        op = node.op_type
        name = _scope_name(node.name, op)
        attrs = {attr.name: attr for attr in node.attribute}
        if op in CONV_OPS:
            data, weight = (node.input[i] for i in CONV_OPS[op])
            w_shape = self.shape(weight, node)
            stride = list(attrs["strides"].ints) if "strides" in attrs else 1
            pads = self._conv_pads(node, attrs, self.shape(data, node), w_shape, stride)
            dilation = list(attrs["dilations"].ints) if "dilations" in attrs else 1
            return conv_row(name or "conv", self.shape(data, node), w_shape[0],
                            tuple(w_shape[2:]), stride, pads,
                            attrs["group"].i if "group" in attrs else 1, dilation,
                            wbits=self._width(node, weight, "w"),
                            abits=self._width(node, data, "a"))
        if op in MATMUL_OPS:
            a, b = (node.input[i] for i in MATMUL_OPS[op])
            a_shape, b_shape = list(self.shape(a, node)), list(self.shape(b, node))
            if op == "Gemm":
                if "transA" in attrs and attrs["transA"].i:
                    a_shape.reverse()
                if "transB" in attrs and attrs["transB"].i:
                    b_shape.reverse()
            weight = b in self.constants
            label = (name or "linear") if weight else _join(name, "matmul")
            return gemm_row(label, a_shape, b_shape, weight=weight, samples=self.samples,
                            wbits=self._width(node, b, "w"), abits=self._width(node, a, "a"))
        if op in UNMAPPED_GEMM_OPS:
            raise GraphError(f"node {node.name or op!r}: {op} is a GEMM-like op this importer "
                             "has no mapping for (it maps Conv, ConvInteger, QLinearConv, Gemm, "
                             "MatMul, MatMulInteger, QLinearMatMul)")
        if op in NO_ROW_OPS or self._clips_codes(node):
            return None
        if op not in HOST_KIND:
            domain = f"{node.domain}:" if node.domain else ""
            raise GraphError(f"node {node.name or op!r}: unknown op {domain}{op}; the importer "
                             "knows Conv/Gemm/MatMul and their quantized forms, the QONNX and "
                             "QCDQ annotations, and the common non-GEMM ONNX ops")
        data = [i for i in node.input if i and i not in self.constants]
        if not data or self.types.get(node.output[0]) in SHAPE_TYPES:
            return None  # shape arithmetic on constants or int64 shape tensors
        if data[0] not in self.shapes or node.output[0] not in self.shapes:
            return None  # shape inference could not tell: nothing to count
        kind = HOST_KIND[op]
        if kind in ("add", "mul") and len(data) < 2:
            kind = "act"  # a constant second operand (a bias, a scale) is not a second read
        return host_row(_join(name, kind), kind, self.shapes[data[0]],
                        self.shapes[node.output[0]], samples=self.samples,
                        window=self._pool_window(op, attrs), wbits=self.default_bits["w"],
                        abits=self.default_bits["a"])

    def _conv_pads(self, node, attrs, x_shape, w_shape, stride):
        auto = attrs["auto_pad"].s.decode() if "auto_pad" in attrs else "NOTSET"
        if auto in ("NOTSET", "") or auto == "VALID":
            return list(attrs["pads"].ints) if "pads" in attrs and auto != "VALID" else 0
        strides = stride if isinstance(stride, list) else [stride, stride]
        pads = []
        for size, kernel, s in zip(x_shape[2:], w_shape[2:], strides):
            total = max((-(-size // s) - 1) * s + kernel - size, 0)
            if total % 2:
                raise GraphError(f"node {node.name or node.op_type!r}: auto_pad={auto} pads "
                                 "unevenly; the trace holds a symmetric pad")
            pads.append(total // 2)
        return pads

    @staticmethod
    def _pool_window(op: str, attrs) -> tuple[int, int, int] | None:
        if op not in ("MaxPool", "AveragePool") or "kernel_shape" not in attrs:
            return None
        kernel = set(attrs["kernel_shape"].ints)
        strides = set(attrs["strides"].ints) if "strides" in attrs else {1}
        pads = set(attrs["pads"].ints) if "pads" in attrs else {0}
        if len(kernel) == len(strides) == len(pads) == 1:
            return kernel.pop(), strides.pop(), pads.pop()
        return None


def _scope_name(node_name: str, op_type: str) -> str:
    """The module path in an exporter's node name: PyTorch writes each scope level as the
    child's name, a Sequential's children as ``<its name>.<index>``, so
    ``/features/features.1/conv/conv.0/Conv`` -> ``features.1.conv.0`` (``/Add_3`` -> '')."""
    parts = [part for part in node_name.split("/") if part]
    if parts and parts[-1].split("_")[0] == op_type:
        parts = parts[:-1]
    path, last = "", ""
    for part in parts:
        if last and part.startswith(last + "."):
            path += part[len(last):]
        else:
            path = f"{path}.{part}" if path else part
        last = part
    return path


def _join(scope: str, label: str) -> str:
    return f"{scope}.{label}" if scope else label


def _renamed(layer: Layer, name: str) -> Layer:
    return layer if layer.name == name else replace(layer, name=name)


__all__ = ["read_onnx"]

"""Any PyTorch module as an accelsim workload, read off its torch.fx graph.

    from training.fx_trace import from_module
    workload = from_module(model, torch.zeros(1, 3, 224, 224))

``torch.fx`` traces the module's forward into a graph (our QConv2d / QLinear / QReLU and
torch.nn's layers stay whole), and the graph runs once on the example input with fake tensors
(or meta tensors for a model built on the meta device), so only shapes are computed: seconds
for ViT-B/16.  Rows, in execution order, per input (the example's first dimension is its batch):
- every Conv2d (groups, depthwise included) and ``F.conv2d`` is a conv row, every Linear and
  ``F.linear`` a linear row (its input's leading dimensions, e.g. tokens, are M);
- every matmul / ``@`` / bmm / mm of two activations is a matmul row with its batch (attention's
  QK^T and AV and their heads); ``nn.MultiheadAttention`` and ``F.scaled_dot_product_attention``
  are expanded into their projections, QK^T, softmax and AV;
- widths come from QConv2d / QLinear, else ``wbits`` / ``abits`` (default 32: a float model);
- the other ops that compute (pooling, norms, softmax, activations, elementwise, reductions,
  concat, pad) are host rows with their element counts; views and reshapes make no row.
Layer names are module paths (``stage1.block1.conv1``), as the built-in networks name them;
an op inside a module's forward is ``<module path>.<op>``.
"""
from __future__ import annotations

import logging
import operator
from dataclasses import dataclass, replace

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from accelsim.graph import GraphError, conv_row, gemm_row, host_row, unique_names
from accelsim.workload import Layer, Workload

from .quant import QConv2d, QLinear, QReLU, quantize_activations

FP32_BITS = 32


class TraceError(ValueError):
    """The module cannot be traced or has an op with no trace form; one line naming it."""


# ----------------------------------------------------------------------------- op vocabularies

MATMULS = {torch.matmul, operator.matmul, torch.bmm, torch.mm, torch.mv, "matmul", "bmm", "mm",
           "mv", "__matmul__"}
ADDMMS = {torch.addmm, torch.baddbmm, "addmm", "baddbmm"}  # (bias, a, b)
UNMAPPED_GEMMS = {torch.einsum, torch.tensordot, F.conv1d, F.conv3d, F.conv_transpose1d,
                  F.conv_transpose2d, F.conv_transpose3d, F.bilinear}
UNMAPPED_MODULES = (nn.Conv1d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
                    nn.ConvTranspose3d, nn.RNNBase, nn.RNNCellBase, nn.Bilinear)
# Views, reshapes and bookkeeping: they move no data worth a row.
NO_ROW = {getattr, operator.getitem, torch.flatten, torch.reshape, torch.permute,
          torch.transpose, torch.squeeze, torch.unsqueeze, torch.chunk, torch.split,
          torch.unbind, F.dropout, torch.t, "view", "reshape", "flatten", "permute",
          "transpose", "t", "contiguous", "expand", "expand_as", "unsqueeze", "squeeze", "size",
          "dim", "chunk", "split", "unbind", "to", "type", "float", "half", "double", "detach",
          "view_as", "unflatten", "numel", "repeat_interleave"}
HOST_FUNCTIONS = {
    "add": {operator.add, operator.iadd, operator.sub, operator.isub, torch.add, torch.sub,
            "add", "add_", "sub", "sub_", "__add__", "__radd__", "__iadd__", "__sub__"},
    "mul": {operator.mul, operator.imul, operator.truediv, operator.itruediv, torch.mul,
            torch.div, "mul", "mul_", "div", "div_", "__mul__", "__rmul__", "__truediv__"},
    "act": {F.relu, F.relu6, F.gelu, F.silu, F.sigmoid, F.tanh, F.hardswish, F.hardsigmoid,
            F.leaky_relu, F.elu, F.softplus, F.mish, torch.relu, torch.sigmoid, torch.tanh,
            torch.clamp, torch.exp, torch.sqrt, torch.rsqrt, torch.erf, operator.neg,
            operator.pow, "relu", "relu_", "sigmoid", "tanh", "clamp", "clamp_", "clip",
            "exp", "sqrt", "rsqrt", "pow", "neg", "abs", "round", "round_", "erf"},
    "softmax": {F.softmax, F.log_softmax, torch.softmax, torch.log_softmax, "softmax",
                "log_softmax"},
    "norm": {F.layer_norm, F.batch_norm, F.group_norm, F.instance_norm, F.normalize,
             F.rms_norm},
    "pool": {F.avg_pool2d, F.max_pool2d, F.adaptive_avg_pool2d, F.adaptive_max_pool2d},
    "reduce": {torch.mean, torch.sum, torch.amax, torch.max, torch.min, torch.argmax, "mean",
               "sum", "amax", "max", "min", "argmax", "norm"},
    "concat": {torch.cat, torch.concat, torch.stack},
    "pad": {F.pad},
    "quant": {quantize_activations},
}
HOST_KIND = {fn: kind for kind, fns in HOST_FUNCTIONS.items() for fn in fns}
HOST_MODULES = (  # torch.nn leaf modules by kind; others without weights are "other"
    ("pool", (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
              nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d, nn.LPPool2d)),
    ("norm", (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm,
              nn.RMSNorm)),
    ("softmax", (nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.Softmax2d)),
    ("act", (QReLU, nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish,
             nn.Hardsigmoid, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.Mish, nn.Softplus,
             nn.Hardtanh)),
    ("pad", (nn.modules.padding._ConstantPadNd, nn.modules.padding._ReflectionPadNd,
             nn.modules.padding._ReplicationPadNd, nn.ZeroPad2d)),
    ("other", (nn.Embedding, nn.EmbeddingBag)),  # a table lookup: its output is what it moves
)
NO_ROW_MODULES = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout,
                  nn.Flatten, nn.Unflatten)


# ----------------------------------------------------------------------------- tracing

class _Tracer(fx.Tracer):
    """Keeps our quantized layers and torch.nn's layers (not its containers) whole, and
    remembers the module being traced, to name it if tracing fails."""

    def __init__(self):
        super().__init__(autowrap_functions=(quantize_activations,))
        self.path: list[tuple[str, nn.Module]] = []

    def is_leaf_module(self, m: nn.Module, qualified_name: str) -> bool:
        if isinstance(m, (QConv2d, QLinear, QReLU, nn.MultiheadAttention)):
            return True
        return m.__module__.startswith("torch.nn") and not any(True for _ in m.children())

    def call_module(self, m, forward, args, kwargs):
        self.path.append((self.path_of_module(m), m))
        result = super().call_module(m, forward, args, kwargs)
        self.path.pop()
        return result


def _trace(module: nn.Module) -> fx.GraphModule:
    tracer = _Tracer()
    try:
        graph = tracer.trace(module)
    except Exception as err:  # fx raises TraceError, TypeError, NotImplementedError, ...
        name, culprit = tracer.path[-1] if tracer.path else ("", module)
        where = f"module {name!r}" if name else "the top-level module"
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise TraceError(f"torch.fx cannot trace {where} ({type(culprit).__name__}): "
                         f"{reason}") from None
    return fx.GraphModule(tracer.root, graph)


@dataclass(frozen=True)
class _Call:
    """One executed node: its graph node, the module it belongs to, its inputs and output."""

    node: fx.Node
    scope: str
    module: nn.Module | None
    args: tuple
    kwargs: dict
    out: object


class _Recorder(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule):
        super().__init__(gm)
        self.calls: list[_Call] = []

    def run_node(self, n: fx.Node):
        stack = n.meta.get("nn_module_stack") or {}
        scope = n.target if n.op == "call_module" else (
            next(reversed(stack.values()))[0] if stack else "")
        try:
            result = super().run_node(n)
        except Exception as err:  # shapes that do not fit, an op fake tensors cannot run, ...
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
            where = f"module {scope!r}" if scope else "the top-level module"
            raise TraceError(f"running the traced graph failed at {n.name} in {where}: "
                             f"{reason}") from None
        if n.op in ("call_module", "call_function", "call_method"):
            args, kwargs = self.fetch_args_kwargs_from_env(n)
            module = self.module.get_submodule(n.target) if n.op == "call_module" else None
            self.calls.append(_Call(n, scope, module, args, kwargs, result))
        return result


def _run(gm: fx.GraphModule, example: torch.Tensor) -> list[_Call]:
    """Execute the graph on shapes only: meta tensors for a meta model, else fake tensors."""
    recorder = _Recorder(gm)
    recorder.extra_traceback = False  # our error is one line; fx would append the graph node
    device = next((p.device for p in gm.parameters()), torch.device("cpu"))
    if example.device != device:
        example = torch.zeros(example.shape, dtype=example.dtype, device=device)
    # fake tensors log a failing op's traceback before raising; the TraceError says it all
    quiet = logging.getLogger("torch._subclasses.fake_tensor")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with torch.no_grad():
            if device.type == "meta":
                recorder.run(example)
            else:
                from torch._subclasses.fake_tensor import FakeTensorMode
                with FakeTensorMode(allow_non_fake_inputs=True) as mode:
                    recorder.run(mode.from_tensor(example))
    finally:
        quiet.setLevel(level)
    return recorder.calls


# ----------------------------------------------------------------------------- rows

def from_module(module: nn.Module, example_input: torch.Tensor, *, name: str | None = None,
                wbits: int = FP32_BITS, abits: int = FP32_BITS,
                host_ops: bool = True) -> Workload:
    """The module's layers for one input (see the module docstring).

    ``example_input``: a tensor whose first dimension is the batch (shapes are traced from it);
    ``host_ops=False`` leaves out the rows that run on the host.  TraceError (a ValueError) in
    one line, naming the module, when fx cannot trace it or an op has no trace form."""
    if not isinstance(example_input, torch.Tensor) or example_input.ndim < 1:
        raise TraceError("from_module needs an example input tensor (batch first), e.g. "
                         "torch.zeros(1, 3, 224, 224): shapes are traced from it")
    gm = _trace(module)
    was_training = module.training
    module.eval()
    try:
        calls = _run(gm, example_input)
    finally:
        module.train(was_training)
    samples = int(example_input.shape[0])
    defaults = {"wbits": wbits, "abits": abits}
    rows: list[Layer] = []
    for call in calls:
        try:
            new = _rows(call, samples, defaults)
        except GraphError as err:
            raise TraceError(str(err)) from None
        rows += [row for row in new if row is not None and (host_ops or row.on_array)]
    if not rows:
        raise TraceError(f"{type(module).__name__}: the traced graph has no layer to simulate")
    names = unique_names([row.name for row in rows])
    layers = tuple(row if row.name == n else replace(row, name=n) for row, n in zip(rows, names))
    return Workload(name or type(module).__name__.lower(), layers)


def _shape(value) -> tuple[int, ...] | None:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def _widths(module: nn.Module | None, defaults: dict) -> dict:
    if isinstance(module, (QConv2d, QLinear)):
        return {"wbits": module.wbits, "abits": module.abits}
    return dict(defaults)


def _is_weight(node_arg) -> bool:
    """Whether a graph value is a parameter, directly or through views (``w.t()``)."""
    while isinstance(node_arg, fx.Node):
        if node_arg.op == "get_attr":
            return True
        if node_arg.op in ("call_method", "call_function") and node_arg.target in NO_ROW:
            node_arg = node_arg.args[0] if node_arg.args else None
            continue
        return False
    return False


def _rows(call: _Call, samples: int, defaults: dict) -> list[Layer | None]:
    node, module, args = call.node, call.module, call.args
    if module is not None:
        return _module_rows(call, samples, defaults)
    target = node.target
    scope = f"{call.scope}." if call.scope else ""
    if target in UNMAPPED_GEMMS:
        raise GraphError(f"layer {scope + node.name!r}: {getattr(target, '__name__', target)} "
                         "has no trace form; write it as matmul / conv2d / linear")
    if target in MATMULS:
        return [gemm_row(f"{scope}matmul", _shape(args[0]), _shape(args[1]),
                         weight=_is_weight(node.args[1]), samples=samples, **defaults)]
    if target in ADDMMS:
        return [gemm_row(f"{scope}matmul", _shape(args[1]), _shape(args[2]),
                         weight=_is_weight(node.args[2]), samples=samples, **defaults)]
    if target is F.linear:
        weight = _shape(args[1])
        return [gemm_row(f"{scope}linear", _shape(args[0]), weight[::-1], weight=True,
                         samples=samples, **defaults)]
    if target is F.conv2d:
        return [_functional_conv(f"{scope}conv", args, call.kwargs, defaults)]
    if target is F.scaled_dot_product_attention:
        q, k, v = (_shape(a) for a in args[:3])
        return _attention_rows(scope.rstrip(".") or "attention", q, k, v, samples, defaults)
    if target in NO_ROW or not isinstance(call.out, torch.Tensor):
        return []
    return [_host(None, HOST_KIND.get(target, "other"), call, samples, defaults)]


def _host(name: str | None, kind: str, call: _Call, samples: int, defaults: dict,
          window=None) -> Layer | None:
    """A host row of the call (named ``<scope>.<kind>`` unless ``name`` is given)."""
    tensors = [a for a in call.args if isinstance(a, torch.Tensor)]
    if not tensors or not isinstance(call.out, torch.Tensor):
        return None
    big = max(tensors, key=lambda t: t.numel())
    if kind in ("add", "mul") and sum(t.numel() == big.numel() for t in tensors) < 2:
        kind = "act"  # a scalar or broadcast second operand is not a second full read
    if name is None:
        name = f"{call.scope}.{kind}" if call.scope else kind
    return host_row(name, kind, tuple(big.shape), tuple(call.out.shape), samples=samples,
                    window=window, **defaults)


def _functional_conv(name: str, args: tuple, kwargs: dict, defaults: dict) -> Layer:
    params = dict(zip(("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
                      args))
    params.update(kwargs)
    weight = _shape(params["weight"])
    padding = params.get("padding", 0)
    if isinstance(padding, str):
        padding = _same_padding(name, padding, weight[2:], params.get("stride", 1))
    return conv_row(name, _shape(params["input"]), weight[0], tuple(weight[2:]),
                    params.get("stride", 1), padding, params.get("groups", 1),
                    params.get("dilation", 1), **defaults)


def _same_padding(name: str, padding: str, kernel, stride) -> int | tuple:
    if padding == "valid":
        return 0
    if all(k % 2 for k in kernel) and stride in (1, (1, 1), [1, 1]):
        return tuple((k - 1) // 2 for k in kernel)
    raise GraphError(f"layer {name!r}: padding={padding!r} pads unevenly; the trace holds a "
                     "symmetric pad")


def _module_rows(call: _Call, samples: int, defaults: dict) -> list[Layer | None]:
    module, name = call.module, call.scope
    x = _shape(call.args[0]) if call.args else None
    if isinstance(module, nn.Conv2d):
        padding = module.padding
        if isinstance(padding, str):
            padding = _same_padding(name, padding, module.kernel_size, module.stride)
        return [conv_row(name, x, module.out_channels, module.kernel_size, module.stride,
                         padding, module.groups, module.dilation, **_widths(module, defaults))]
    if isinstance(module, nn.Linear):
        return [gemm_row(name, x, (module.in_features, module.out_features), weight=True,
                         samples=samples, **_widths(module, defaults))]
    if isinstance(module, nn.MultiheadAttention):
        return _mha_rows(call, samples, defaults)
    if isinstance(module, UNMAPPED_MODULES):
        raise GraphError(f"layer {name!r}: {type(module).__name__} has no trace form (the "
                         "trace maps Conv2d, Linear, matmul and attention)")
    if isinstance(module, NO_ROW_MODULES):
        return []
    if isinstance(module, QReLU):
        defaults = {**defaults, "abits": module.abits}
    kind = next((k for k, types in HOST_MODULES if isinstance(module, types)), None)
    if kind is None:
        if any(p.ndim >= 2 for p in module.parameters()):
            raise GraphError(f"layer {name!r}: {type(module).__name__} has weights but no "
                             "trace form")
        kind = "other"
    window = None
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        window = _pool_window(module)
    return [_host(name, kind, call, samples, defaults, window)]


def _pool_window(module) -> tuple[int, int, int] | None:
    values = [module.kernel_size, module.stride or module.kernel_size, module.padding]
    values = [v if isinstance(v, int) else (v[0] if len(set(v)) == 1 else None) for v in values]
    dilation = getattr(module, "dilation", 1)
    if None in values or module.ceil_mode or dilation not in (1, (1, 1)):
        return None
    return tuple(values)


def _attention_rows(scope: str, q, k, v, samples: int, defaults: dict) -> list[Layer | None]:
    """QK^T, softmax and AV of attention on (..., T, d) queries, keys and values."""
    scores = q[:-1] + (k[-2],)
    return [gemm_row(f"{scope}.matmul", q, k[:-2] + (k[-1], k[-2]), weight=False,
                     samples=samples, **defaults),
            host_row(f"{scope}.softmax", "softmax", scores, scores, samples=samples,
                     **defaults),
            gemm_row(f"{scope}.matmul", scores, v, weight=False, samples=samples, **defaults)]


def _mha_rows(call: _Call, samples: int, defaults: dict) -> list[Layer | None]:
    """nn.MultiheadAttention as its projections, attention and out-projection."""
    module, name = call.module, call.scope
    params = dict(zip(("query", "key", "value"), call.args))
    params.update({k: v for k, v in call.kwargs.items() if k in ("query", "key", "value")})
    query, key, value = (params[k] for k in ("query", "key", "value"))
    heads, dim = module.num_heads, module.embed_dim
    shapes = [tuple(t.shape) for t in (query, key, value)]
    if not module.batch_first and len(shapes[0]) == 3:  # (T, N, E) -> (N, T, E)
        shapes = [(s[1], s[0], s[2]) for s in shapes]
    (*lead, t_q, _), t_k = shapes[0], shapes[1][-2]
    rows: list[Layer | None] = []
    same = call.node.args[1:3] == (call.node.args[0],) * 2 if len(call.node.args) >= 3 else False
    if same:
        rows.append(gemm_row(f"{name}.in_proj", shapes[0], (dim, 3 * dim), weight=True,
                             samples=samples, **defaults))
    else:
        for label, shape in zip(("q_proj", "k_proj", "v_proj"), shapes):
            rows.append(gemm_row(f"{name}.{label}", shape, (shape[-1], dim), weight=True,
                                 samples=samples, **defaults))
    head = dim // heads
    lead = tuple(lead) + (heads,)
    rows += _attention_rows(name, lead + (t_q, head), lead + (t_k, head), lead + (t_k, head),
                            samples, defaults)
    rows.append(gemm_row(f"{name}.out_proj", shapes[0][:-1] + (dim,), (dim, dim), weight=True,
                         samples=samples, **defaults))
    return rows


def macs(workload: Workload) -> int:
    """Multiply-accumulates of the workload's array rows for one input."""
    return sum(layer.macs for layer in workload.layers)


__all__ = ["TraceError", "from_module", "macs"]

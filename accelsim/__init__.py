"""accelsim: a cycle-level model of a low-precision systolic PE array, with a closed form.

    from accelsim import ArrayConfig, simulate_gemm, simulate_network
    cfg = ArrayConfig(rows=8, cols=8, wbits=2, abits=8, dataflow="os")
"""
from .config import ArrayConfig
from .network import simulate_network
from .systolic import GemmResult, simulate_gemm

__all__ = ["ArrayConfig", "GemmResult", "simulate_gemm", "simulate_network"]

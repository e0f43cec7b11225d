"""dse: sweep the low-precision accelerator's design space and find its Pareto fronts.

    python -m dse.sweep --rows 4,8,16 --wbits 2,4,32 --abits 8,32 --out runs/sweep

Modules: ``space`` (option values and the grid of points), ``evaluate`` (points -> figures,
via accelsim), ``results`` (accuracy joined from the paper's tables and measured runs),
``pareto`` (non-dominated sorting), ``fronts`` (which points a front compares, what it
reports), ``sweep`` (the command, schedulers, journal, files).
"""
from .pareto import pareto_front, pareto_ranks
from .results import join_accuracy, paper_accuracy

__all__ = ["join_accuracy", "paper_accuracy", "pareto_front", "pareto_ranks"]

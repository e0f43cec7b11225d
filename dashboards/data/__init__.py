"""Data shipped with the dashboard.

``footprint.csv``: weights vs activations memory of the paper's Figure 1 networks (plus the
CIFAR ResNets), made once with

    OMP_WAIT_POLICY=PASSIVE python -m training.footprint --out /tmp/fp   # then cp /tmp/fp/footprint.csv

(default options: batches 1, 8, 32; fp32 and 2-bit weights / 8-bit activations).  The dashboard
cannot import ``training`` (torch), so it reads this copy unless a results folder holds its own.
"""

"""experiments: studies that train networks and sweep the hardware together, on top of
training, dse and accelsim (nothing imports this package).

    python -m experiments.reproduce --preset quick --out runs/repro   # the paper's Tables 1-4
    python -m experiments.report runs/repro                           # REPRODUCTION.md again

Modules: ``reproduce`` (the presets, the training grid, then footprint, PE cost and sweep),
``report`` (the reproduction's CSVs -> REPRODUCTION.md and its figure).
"""

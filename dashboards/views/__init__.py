"""The dashboard's views, one module each: its tab's layout (``tab``) and its callbacks
(``register``), both from the loaded results; ``dashboards.app`` puts them side by side.

``accuracy`` (accuracy vs compute cost), ``footprint`` (the paper's Figure 1), ``explorer`` (the
design space and its Pareto CSV), ``array`` (one layer inside the PE array); ``controls`` holds
what their layouts share.
"""

"""dashboards: the wrpn-dse results in a browser (Dash).

    python -m dashboards.app --results DIR     # http://127.0.0.1:8050

Modules: ``load`` (results folder or the default sweep, with messages for the page),
``frames`` (the table each view shows), ``figures`` (pure DataFrame -> plotly Figure),
``views`` (a module per view: its layout and callbacks), ``app`` (the views side by side, the
command line).
"""

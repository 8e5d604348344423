"""The demo's applications above the data: its simulated plan period (``plan_period``), which
works the pipeline through the system of record's own functions. It lives here, not beside the
generator in ``data/demo``, because it writes through ``api.crm``."""

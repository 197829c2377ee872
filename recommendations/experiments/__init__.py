"""A/B experiments on slots: deterministic assignment (``assignment``), the running experiments
(``registry``), and per-variant results with significance (``report``)."""

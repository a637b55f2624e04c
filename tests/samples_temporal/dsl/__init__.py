"""samples-python's ``dsl/``: a workflow that interprets a YAML-described sequence of steps."""

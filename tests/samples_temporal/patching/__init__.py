"""samples-python's ``patching/``: four versions of a workflow, deployed one after another."""

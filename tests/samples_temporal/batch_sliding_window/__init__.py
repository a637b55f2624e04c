"""samples-python's ``batch_sliding_window/``: a batch of child workflows, a window at a time."""

"""The samples of samples-python's ``hello/`` directory."""

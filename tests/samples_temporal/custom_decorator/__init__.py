"""samples-python's ``custom_decorator/``: a decorator that heartbeats an activity for you."""

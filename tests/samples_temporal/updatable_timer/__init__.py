"""samples-python's ``updatable_timer/``: a timer whose wake-up time a signal can move."""

TASK_QUEUE = "updatable-timer"

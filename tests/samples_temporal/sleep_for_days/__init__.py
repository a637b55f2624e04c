"""samples-python's ``sleep_for_days/``: send an email every 30 days until told to stop."""

TASK_QUEUE = "sleep-for-days-task-queue"

"""message_passing/update_with_start/lazy_initialization: a cart created by its first update.

Source: temporalio/samples-python message_passing/update_with_start/lazy_initialization/
__init__.py at 6bdbbd1358693942ff718ce66285872d4764a3d3 (re-written, not copied).
"""

TASK_QUEUE = "uws"

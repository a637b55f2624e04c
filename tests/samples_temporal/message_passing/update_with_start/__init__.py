"""samples-python's ``message_passing/update_with_start/`` samples."""

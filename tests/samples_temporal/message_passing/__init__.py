"""samples-python's ``message_passing/`` samples: signals, queries and updates."""

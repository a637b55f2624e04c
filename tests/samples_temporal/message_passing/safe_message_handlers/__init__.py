"""message_passing/safe_message_handlers: updates that share state safely, under a lock."""

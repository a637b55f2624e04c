"""polling/infrequent: the activity fails and its retry policy polls, 60 s apart."""

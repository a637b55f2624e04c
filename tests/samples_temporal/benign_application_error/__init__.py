"""samples-python's ``benign_application_error/``: an expected failure, logged below WARNING."""

"""polling/periodic_sequence: a child workflow polls with single-attempt activities."""

"""polling/frequent: the activity polls in a loop and heartbeats between tries."""

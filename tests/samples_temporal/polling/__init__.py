"""samples-python's ``polling/`` samples: three ways to poll a service until it answers."""

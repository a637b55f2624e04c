"""samples-python's ``custom_converter/``: a payload converter for classes JSON cannot hold."""

"""samples-python's ``pydantic_converter/``: pydantic models as workflow arguments."""

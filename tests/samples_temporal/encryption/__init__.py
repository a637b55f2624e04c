"""samples-python's ``encryption/``: a payload codec that encrypts every payload (AES-GCM)."""

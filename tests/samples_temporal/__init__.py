"""Temporal's own Python samples (temporalio/samples-python), re-written to run on fastcore.

Each module names its source file and commit. See ``test_samples_temporal.py`` for why they
are re-written rather than copied, and what changes from the originals.
"""

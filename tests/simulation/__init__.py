"""Deterministic simulation testing of the engine (see the README's section and
``python -m tests.simulation --help``): ``workload`` (what a seed runs), ``world`` (virtual
time, the disk, the process that dies), ``runner`` (one seed's lives), ``checks`` (the
invariants), ``simulate`` (a seed end to end)."""

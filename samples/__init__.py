"""Runnable samples: Temporal workflows whose latency-critical steps run in fastcore.

Each scenario is a module you can run on its own (``python -m samples.trading_preflight``),
which starts a Temporal dev server, a worker hosting fastcore, and the scenario end to end:

* ``trading_preflight``: an order's validate-and-execute checks in microseconds, with a
  non-retryable rejection that surfaces in Temporal as a non-retryable ``ApplicationError``.
* ``iot_devices``: a configuration rollout fanned out to N devices, rolled back by a saga
  when one device fails.
* ``realtime_pipeline``: a stream of events, each a fastcore sub-workflow, started
  concurrently from one Temporal workflow.
* ``loan_approval``: a Temporal workflow that waits days for a human decision, with its
  credit scoring in fastcore.
* ``data_migration``: a long Temporal workflow of batches with durable sleeps between
  them, each batch's transform in fastcore.

``python -m samples`` (the demo) runs them all and prints where each step ran and how long
it took; ``fastcore-bridge worker --workflows samples.worker`` hosts them on a worker.
"""

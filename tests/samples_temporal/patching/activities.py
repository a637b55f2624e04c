"""patching/activities.py: one activity before the patch, one after.

Source: temporalio/samples-python patching/activities.py at
31e354d0e91cb0ea9a1be9ab0d4bd3de247afce2 (re-written, not copied).
"""

from __future__ import annotations

from fastcore import activity


@activity.defn
async def pre_patch_activity() -> str:
    return "pre-patch"


@activity.defn
async def post_patch_activity() -> str:
    return "post-patch"

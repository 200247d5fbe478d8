"""
Stand-in for ``xmodule.error_block``: ``ErrorBlock``, what the modulestore gives for a block that fails to load.

It is the OLX reader's class (``virtu_sync_plugin.olx.ErrorBlock``), so ``isinstance`` works on the
blocks the stand-in modulestore returns.
"""

from virtu_sync_plugin.olx import ErrorBlock

__all__ = ["ErrorBlock"]

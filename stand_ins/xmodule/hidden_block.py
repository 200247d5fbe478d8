"""
Stand-in for ``xmodule.hidden_block``: ``HiddenBlock``, what the modulestore gives for a disabled or unknown XBlock type.

It is the OLX reader's class (``virtu_sync_plugin.olx.HiddenBlock``), so ``isinstance`` works on the
blocks the stand-in modulestore returns.
"""

from virtu_sync_plugin.olx import HiddenBlock

__all__ = ["HiddenBlock"]

"""
Stand-in for ``xmodule.hidden_block``: ``HiddenBlock``, what the modulestore gives for a disabled or unknown XBlock type.

It is the OLX reader's class (``olx_modulestore.HiddenBlock``), so ``isinstance`` works on the
blocks the stand-in modulestore returns.
"""

from olx_modulestore import HiddenBlock

__all__ = ["HiddenBlock"]

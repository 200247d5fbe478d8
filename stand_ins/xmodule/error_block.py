"""
Stand-in for ``xmodule.error_block``: ``ErrorBlock``, what the modulestore gives for a block that fails to load.

It is the OLX reader's class (``olx_modulestore.ErrorBlock``), so ``isinstance`` works on the
blocks the stand-in modulestore returns.
"""

from olx_modulestore import ErrorBlock

__all__ = ["ErrorBlock"]

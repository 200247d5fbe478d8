"""
Stand-in for ``xmodule.partitions.partitions``: ``Group`` and ``UserPartition``, as the course's ``user_partitions`` hold them.

They are the OLX reader's named tuples, with the real fields (``UserPartition``: ``id``, ``name``,
``description``, ``groups``, ``scheme``, ``parameters``, ``active``; ``Group``: ``id``, ``name``).
"""

from olx_modulestore import Group, UserPartition

__all__ = ["Group", "UserPartition"]

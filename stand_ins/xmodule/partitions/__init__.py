"""Stand-in for ``xmodule.partitions``."""

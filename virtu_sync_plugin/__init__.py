"""
Open edX plugin that syncs a course's structure to the Virtu backend when Studio publishes it.
"""

__version__ = "0.1.0"

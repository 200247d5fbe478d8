"""
Tutor plugin for virtu-sync-plugin, the Open edX plugin that syncs Studio courses to Virtu.
"""

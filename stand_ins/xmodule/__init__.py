"""
Test stand-in for edx-platform's ``xmodule`` package (never installed).

Only what the plugin, its tests and its demo use, under the real import paths, so that code
written for Studio runs outside it. Put ``stand_ins/`` on ``sys.path`` to use it.
"""

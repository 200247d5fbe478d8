"""
The pure sync core: outline types, the diff engine, change operations and snapshots.

Rule of this package: it imports only the standard library. No Django, edx-platform,
HTTP or Celery code belongs here; adapters around it do the I/O.
"""

"""
Feature toggles of the Virtu sync plugin (OEP-17).

Private to the app: other code asks ``api.is_sync_enabled``.
"""

from edx_toggles.toggles import WaffleSwitch

# .. toggle_name: virtu_sync.course_sync
# .. toggle_implementation: WaffleSwitch
# .. toggle_default: False
# .. toggle_description: Sends every published Studio course (within the scope set in the Django
#   admin under "Virtu sync scope") to the Virtu backend. Off: no course is synced and no request is
#   made; publishes are not queued, and tasks already queued do nothing. Turned on and off in the
#   Django admin (Waffle > Switches); it takes effect at once, which also makes it the circuit
#   breaker for a misbehaving backend.
# .. toggle_use_cases: opt_in, circuit_breaker, open_edx
# .. toggle_creation_date: 2026-11-25
# .. toggle_warning: Needs VIRTU_SYNC_BACKEND_URL and VIRTU_SYNC_API_TOKEN; after turning it on,
#   bring existing courses over with the virtu_sync_backfill management command.
COURSE_SYNC_SWITCH = WaffleSwitch("virtu_sync.course_sync", __name__)

"""
Defaults for the plugin's settings, for every Open edX environment.
"""

from virtu_sync_plugin.conf import DEFAULTS


def plugin_settings(settings):
    """
    Give each ``VIRTU_SYNC_*`` setting its default, unless the operator has set it already.
    """
    # .. setting_name: VIRTU_SYNC_BACKEND_URL
    # .. setting_default: ""
    # .. setting_description: Base URL of the Virtu backend, such as https://virtu.example.com; batches
    #   are posted to {VIRTU_SYNC_BACKEND_URL}/course-sync/v1/batches. Nothing is sent while it is empty.
    # .. setting_warning: Must be https unless VIRTU_SYNC_ALLOW_INSECURE_HTTP is True.
    _set_default(settings, "VIRTU_SYNC_BACKEND_URL")

    # .. setting_name: VIRTU_SYNC_API_TOKEN
    # .. setting_default: ""
    # .. setting_description: Bearer token sent to the Virtu backend in the Authorization header.
    #   Required when VIRTU_SYNC_BACKEND_URL is set.
    # .. setting_warning: A secret: keep it out of version control (put it with the other secrets of
    #   the deployment). The plugin never logs it.
    _set_default(settings, "VIRTU_SYNC_API_TOKEN")

    # .. setting_name: VIRTU_SYNC_SIGNING_SECRET
    # .. setting_default: ""
    # .. setting_description: Shared secret for signing requests. When set, each request carries an
    #   X-Virtu-Signature header, an HMAC-SHA256 of its timestamp and body; when empty, requests are
    #   not signed.
    # .. setting_warning: A secret: keep it out of version control. The plugin never logs it.
    _set_default(settings, "VIRTU_SYNC_SIGNING_SECRET")

    # .. setting_name: VIRTU_SYNC_BATCH_SIZE
    # .. setting_default: 200
    # .. setting_description: Largest number of operations sent in one request; a bigger change is
    #   split into several batches. A whole number from 1 to 1000.
    _set_default(settings, "VIRTU_SYNC_BATCH_SIZE")

    # .. setting_name: VIRTU_SYNC_TIMEOUT
    # .. setting_default: (5.0, 30.0)
    # .. setting_description: Timeouts for one request to the Virtu backend, in seconds: a pair
    #   (connect, read), or a single number used for both.
    _set_default(settings, "VIRTU_SYNC_TIMEOUT")

    # .. setting_name: VIRTU_SYNC_ALLOW_INSECURE_HTTP
    # .. setting_default: False
    # .. setting_description: Allow a plain http:// VIRTU_SYNC_BACKEND_URL.
    # .. setting_warning: For local development only: over plain HTTP the API token and the course
    #   data travel unencrypted.
    _set_default(settings, "VIRTU_SYNC_ALLOW_INSECURE_HTTP")

    # .. setting_name: VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES
    # .. setting_default: ("problem", "openassessment", "drag-and-drop-v2", "lti_consumer", "lti",
    #   "staffgradedxblock", "edx_sga")
    # .. setting_description: Component types inside a unit that are synced as assessments: the
    #   scorable ones. Other components (html, video, discussion, done, ...) are not synced. Add the
    #   types of other scored XBlocks installed on the platform.
    _set_default(settings, "VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES")

    # .. setting_name: VIRTU_SYNC_RETRY_FOR
    # .. setting_default: 604800
    # .. setting_description: How long, in seconds, a course that fell out of sync (a pass failed or
    #   partly failed, batches left unacknowledged, a deletion the backend could not take) is retried
    #   automatically, counted from when it fell out of sync. After that it stays failed, visible in
    #   the admin, until a publish, an operator or virtu_sync_reconcile syncs it. 0: no automatic retry.
    #   The default is 7 days.
    _set_default(settings, "VIRTU_SYNC_RETRY_FOR")

    # .. setting_name: VIRTU_SYNC_RETRY_DELAYS
    # .. setting_default: (60, 1800)
    # .. setting_description: The automatic retries' backoff, in seconds: (wait before the first
    #   retry, longest wait). The wait doubles after each failed retry up to the longest, less a random
    #   part of up to a quarter (jitter), so courses that failed together do not retry together.
    # .. setting_warning: Keep the longest wait under the Celery broker's visibility timeout (Redis:
    #   one hour by default), or the broker delivers a waiting retry twice; at most 3600.
    _set_default(settings, "VIRTU_SYNC_RETRY_DELAYS")

    # .. setting_name: VIRTU_SYNC_LEASE_SECONDS
    # .. setting_default: 120
    # .. setting_description: The lease of a course's sync, in seconds: the worker running a sync
    #   renews it every third of this while the sync runs, however long a step takes; a worker that
    #   died (on another host) is taken over once its lease runs out.
    _set_default(settings, "VIRTU_SYNC_LEASE_SECONDS")

    # .. setting_name: VIRTU_SYNC_HEARTBEAT_OUT_OF_SYNC_SECONDS
    # .. setting_default: 3600
    # .. setting_description: The optional extended heartbeat check
    #   virtu_sync_plugin.heartbeat.check_courses_in_sync fails when a course has been out of sync for
    #   longer than this many seconds.
    _set_default(settings, "VIRTU_SYNC_HEARTBEAT_OUT_OF_SYNC_SECONDS")
    # .. setting_name: VIRTU_SYNC_LOG_RETENTION_DAYS
    # .. setting_default: 30
    # .. setting_description: Days that operation-log rows and sync run records are kept. Older ones
    #   are deleted in small batches after each sync of their course, and by the virtu_sync_prune
    #   command; an operation the backend has not acknowledged, and the latest run of each course,
    #   are always kept. A whole number, 1 or more.
    _set_default(settings, "VIRTU_SYNC_LOG_RETENTION_DAYS")


def _set_default(settings, name):
    if not hasattr(settings, name):
        setattr(settings, name, DEFAULTS[name])

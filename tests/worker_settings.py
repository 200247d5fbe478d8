"""
Settings of a worker process started by a test (a Celery worker, a crashing sync): the
test's settings, pointed at the database, modulestore root, backend and broker of the
running test (from the environment).
"""

import os

if os.environ.get("VIRTU_TEST_MYSQL_PORT"):
    from tests.mysql_settings import *  # noqa: F403  pylint: disable=wildcard-import,unused-wildcard-import
else:
    from test_settings import *  # noqa: F403  pylint: disable=wildcard-import,unused-wildcard-import

DATABASES["default"]["NAME"] = os.environ["VIRTU_TEST_DATABASE"]  # noqa: F405
MODULESTORE["default"]["OPTIONS"]["olx_root"] = os.environ["VIRTU_TEST_OLX_ROOT"]  # noqa: F405
VIRTU_SYNC_BACKEND_URL = os.environ["VIRTU_TEST_BACKEND_URL"]
VIRTU_SYNC_ALLOW_INSECURE_HTTP = True
VIRTU_SYNC_BATCH_SIZE = int(os.environ.get("VIRTU_TEST_BATCH_SIZE", "200"))
CELERY_ALWAYS_EAGER = False
BROKER_URL = os.environ["VIRTU_TEST_BROKER_URL"]
if os.environ.get("VIRTU_TEST_RETRY_DELAYS"):
    VIRTU_SYNC_RETRY_DELAYS = tuple(float(delay) for delay in os.environ["VIRTU_TEST_RETRY_DELAYS"].split(","))
if os.environ.get("VIRTU_TEST_LEASE_SECONDS"):
    VIRTU_SYNC_LEASE_SECONDS = float(os.environ["VIRTU_TEST_LEASE_SECONDS"])

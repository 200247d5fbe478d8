"""The test settings on MySQL/MariaDB (``make test-mysql`` starts a throwaway server)."""

import os

from test_settings import *  # noqa: F403  pylint: disable=wildcard-import,unused-wildcard-import

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.mysql",
        "HOST": "127.0.0.1",
        "PORT": os.environ["VIRTU_TEST_MYSQL_PORT"],
        "USER": "root",
        "PASSWORD": "",
        "NAME": "virtu_sync",
        "OPTIONS": {"charset": "utf8mb4"},
        "TEST": {"NAME": "test_virtu_sync", "CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
    }
}

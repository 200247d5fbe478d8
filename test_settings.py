"""
Django settings for running the tests and manage.py outside Open edX.
"""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent

# Stand-ins for the edx-platform modules the plugin uses, importable under their real
# names (``xmodule...``) as they would be inside Studio.
sys.path.insert(0, str(REPO_ROOT / "stand_ins"))

# The modulestore stand-in reads and writes courses as OLX under this directory,
# a fresh one per process.
OLX_ROOT = tempfile.mkdtemp(prefix="virtu-sync-olx-")
atexit.register(shutil.rmtree, OLX_ROOT, ignore_errors=True)

SECRET_KEY = "insecure-secret-key-for-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(Path(tempfile.gettempdir()) / "virtu_sync_plugin.sqlite3"),
        # Concurrent syncs (threads, and worker processes) wait for the write lock.
        "OPTIONS": {"timeout": 30},
        # A file, not memory, so that worker processes started by tests share it.
        "TEST": {"NAME": str(Path(tempfile.gettempdir()) / f"virtu_sync_plugin_test_{os.getpid()}.sqlite3")},
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",  # the admin's CSS and JavaScript, for the tests in a real browser
    "waffle",
    "config_models",
    "virtu_sync_plugin",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "test_urls"
STATIC_URL = "/static/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

MODULESTORE = {
    "default": {
        "ENGINE": "xmodule.modulestore.mixed.MixedModuleStore",
        "OPTIONS": {"olx_root": OLX_ROOT},
    },
}

VIRTU_SYNC_BACKEND_URL = "https://virtu.test"
VIRTU_SYNC_API_TOKEN = "test-api-token"
VIRTU_SYNC_SIGNING_SECRET = "test-signing-secret"
# Short, so that a test that reaches a server by mistake fails fast.
VIRTU_SYNC_TIMEOUT = (1.0, 5.0)

# Studio's base URL, sent to the backend as the batches' source.
CMS_ROOT_URL = "https://studio.virtu.test"

# Tasks run in the calling process unless a test starts a real worker (tests/test_celery_worker.py).
# The platform's Celery app reads the old-style names (config_from_object without a namespace).
CELERY_ALWAYS_EAGER = True
CELERY_EAGER_PROPAGATES_EXCEPTIONS = True
BROKER_URL = "memory://"

"""
Settings of the demo: Studio's side of the plugin on embedded defaults (SQLite in a
scratch directory, the modulestore stand-in over OLX exports, a reference backend on
127.0.0.1, Celery with an in-process broker and worker).
"""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
WORK_DIR = Path(os.environ["VIRTU_DEMO_DIR"])

# Stand-ins for the edx-platform modules the plugin imports (xmodule...), as inside Studio.
sys.path.insert(0, str(REPO_ROOT / "stand_ins"))

SECRET_KEY = "demo-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(WORK_DIR / "studio.sqlite3")}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "waffle",
    "config_models",
    "virtu_sync_plugin",
]
MODULESTORE = {
    "default": {
        "ENGINE": "xmodule.modulestore.mixed.MixedModuleStore",
        "OPTIONS": {"olx_root": str(WORK_DIR / "modulestore")},
    }
}
CMS_ROOT_URL = "http://localhost:8001"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"virtu_sync_plugin": {"handlers": ["console"], "level": "WARNING"}},
}

VIRTU_SYNC_BACKEND_URL = os.environ["VIRTU_DEMO_BACKEND_URL"]
VIRTU_SYNC_API_TOKEN = "demo-token"
VIRTU_SYNC_SIGNING_SECRET = "demo-signing-secret"
VIRTU_SYNC_ALLOW_INSECURE_HTTP = True  # the reference backend listens on plain http://127.0.0.1

BROKER_URL = "memory://"  # old-style names, read as edx-platform reads them
CELERY_RESULT_BACKEND = "cache+memory://"

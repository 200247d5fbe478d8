"""
Django settings of the benchmarks: Studio's side of the plugin as in ``demo/settings.py``
(SQLite in a scratch directory, the stand-in modulestore), pointed at a backend whose URL
``benchmarks/run.py`` puts in the environment.
"""

import os
from pathlib import Path

WORK_DIR = Path(os.environ["VIRTU_BENCH_DIR"])

SECRET_KEY = "benchmarks-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(WORK_DIR / "studio.sqlite3"),
        "OPTIONS": {"timeout": 30},
    }
}
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
# The admin, for the admin benchmark (benchmarks/storage.py).
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "benchmarks.urls"
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
        "OPTIONS": {"olx_root": str(WORK_DIR / "modulestore")},
    }
}
CMS_ROOT_URL = "http://localhost:8001"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"virtu_sync_plugin": {"handlers": ["console"], "level": "ERROR"}},
}

VIRTU_SYNC_BACKEND_URL = os.environ.get("VIRTU_BENCH_BACKEND_URL", "")
VIRTU_SYNC_API_TOKEN = "bench-token"
VIRTU_SYNC_SIGNING_SECRET = "bench-signing-secret"
VIRTU_SYNC_ALLOW_INSECURE_HTTP = True  # the backends listen on plain http://127.0.0.1

# Tasks go to an in-memory broker and no worker runs them: the receiver benchmark times the
# publish, not the sync it queues.
BROKER_URL = "memory://"  # old-style names, read as edx-platform reads them
CELERY_RESULT_BACKEND = "cache+memory://"

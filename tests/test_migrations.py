"""Migrations apply and reverse, and match the models (on SQLite and on MySQL/MariaDB)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mysql]

TABLES = {
    "virtu_sync_plugin_coursesyncstate",
    "virtu_sync_plugin_syncrun",
    "virtu_sync_plugin_syncoperation",
    "virtu_sync_plugin_syncscope",
}


def test_migrations_reverse_to_zero_and_apply_again():
    call_command("migrate", "virtu_sync_plugin", "zero", verbosity=0)
    assert not TABLES & set(connection.introspection.table_names())
    call_command("migrate", "virtu_sync_plugin", verbosity=0)
    assert TABLES <= set(connection.introspection.table_names())


def test_the_models_need_no_new_migration():
    call_command("makemigrations", "virtu_sync_plugin", "--check", "--dry-run", stdout=StringIO())

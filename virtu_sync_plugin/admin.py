"""
The Django admin of the Virtu sync.

Each course's sync state, its runs and its operation log, read-only; the sync scope,
audited; and actions that sync selected courses. Models are imported only to register
them; everything the actions do goes through :mod:`virtu_sync_plugin.api`.
"""

import json
import logging
from datetime import timedelta
from urllib.parse import urlencode

from config_models.admin import ConfigurationModelAdmin
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connections, router
from django.db.models.functions import Length
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.timesince import timesince, timeuntil

from virtu_sync_plugin import api
from virtu_sync_plugin.data import ASSESSMENT, COURSE, SUBTOPIC, TOPIC, UNIT, OperationType
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun, SyncScope

log = logging.getLogger(__name__)

SHORT_ERROR_CHARS = 80

admin.site.register(SyncScope, ConfigurationModelAdmin)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the sync pipeline: viewed here, never added, changed or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def changelist_of_course(model, course_key, label):
    """A link to the admin list of ``model`` rows of one course."""
    url = reverse(f"admin:virtu_sync_plugin_{model._meta.model_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode({"course_key": str(course_key)}), label)


class CappedCountPaginator(Paginator):
    """
    Counts at most :data:`COUNTED_ROWS` rows: a list page of a big table stays as fast as of a small one.

    Beyond that the admin offers the pages up to it; filters narrow the rest down.
    """

    @cached_property
    def count(self):
        return self.object_list.order_by()[:COUNTED_ROWS].count()


#: Rows a list page of the operation log or the runs counts at most (then offers that many).
COUNTED_ROWS = 10_000


class OrgListFilter(admin.SimpleListFilter):
    """Courses of one organization (the ``org`` part of the course key)."""

    title = "organization"
    parameter_name = "org"

    def lookups(self, request, model_admin):
        return [(org, org) for org in _orgs(model_admin.model)]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(course_key__startswith=f"course-v1:{self.value()}+")


#: Organizations the course list's filter offers at most.
LISTED_ORGS = 100


def _orgs(model):
    """
    The orgs of the course keys in ``model``'s table, in order.

    One index seek per org (the first key after the previous org's keys), never a scan of
    every course key. In SQL: the key field parses what it is compared with as a course key.
    """
    connection = connections[router.db_for_read(model)]
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field("course_key").column)
    sql = f"SELECT {column} FROM {table} WHERE {column} > %s AND {column} < %s ORDER BY {column} LIMIT 1"
    orgs, after = [], "course-v1:"
    with connection.cursor() as cursor:
        while len(orgs) < LISTED_ORGS:
            cursor.execute(sql, [after, "course-v1;"])
            found = cursor.fetchone()
            if found is None:
                return orgs
            org = found[0].removeprefix("course-v1:").partition("+")[0]
            orgs.append(org)
            after = f"course-v1:{org},"  # "," sorts right after "+": past this org's keys
    return orgs


class OutOfSyncListFilter(admin.SimpleListFilter):
    """Courses the backend has been behind for at least a while."""

    title = "out of sync for"
    parameter_name = "out_of_sync"
    PERIODS = {"any": timedelta(0), "1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}

    def lookups(self, request, model_admin):
        return [("any", "any time"), ("1h", "over an hour"), ("1d", "over a day"), ("7d", "over a week")]

    def queryset(self, request, queryset):
        period = self.PERIODS.get(self.value())
        if period is None:
            return queryset
        return queryset.filter(out_of_sync_since__lte=timezone.now() - period)


class RetryListFilter(admin.SimpleListFilter):
    """Courses with an automatic retry scheduled, or none."""

    title = "automatic retry"
    parameter_name = "retry"

    def lookups(self, request, model_admin):
        return [("scheduled", "scheduled"), ("none", "none")]

    def queryset(self, request, queryset):
        if self.value() == "scheduled":
            return queryset.filter(next_retry_at__isnull=False)
        if self.value() == "none":
            return queryset.filter(next_retry_at__isnull=True)
        return queryset


class OperationKindListFilter(admin.SimpleListFilter):
    """Operations of one kind: the kinds are known, so listing them reads no row."""

    title = "operation"
    parameter_name = "operation"

    def lookups(self, request, model_admin):
        return [(kind.value, kind.value) for kind in OperationType]

    def queryset(self, request, queryset):
        return queryset.filter(operation=self.value()) if self.value() else queryset


class EntityTypeListFilter(admin.SimpleListFilter):
    """Operations on one type of entity: the types are known, so listing them reads no row."""

    title = "entity type"
    parameter_name = "entity_type"

    def lookups(self, request, model_admin):
        return [(entity_type.name, entity_type.name) for entity_type in (COURSE, TOPIC, SUBTOPIC, UNIT, ASSESSMENT)]

    def queryset(self, request, queryset):
        return queryset.filter(entity_type=self.value()) if self.value() else queryset


@admin.register(CourseSyncState)
class CourseSyncStateAdmin(ReadOnlyAdmin):
    """Where each course stands with the backend, with actions that sync selected courses."""

    list_display = (
        "course_key",
        "sync_status",
        "last_synced_at",
        "out_of_sync",
        "next_retry",
        "entity_count",
        "failed_operations",
        "deferred_operations",
        "short_error",
        "history",
    )
    list_filter = ("status", OutOfSyncListFilter, RetryListFilter, OrgListFilter)
    search_fields = ("course_key",)
    ordering = ("course_key",)
    exclude = ("snapshot",)
    readonly_fields = ("sync_status", "out_of_sync", "next_retry", "snapshot_size", "history")
    actions = ("sync_now", "full_resync", "dry_run")

    def get_queryset(self, request):
        # The snapshot can be large (megabytes): never read here; its size only on a course's page.
        return super().get_queryset(request).defer("snapshot")

    @admin.display(description="status")
    def sync_status(self, state):
        if not api.is_sync_enabled(state.course_key):
            return f"Disabled ({state.get_status_display()})"
        return state.get_status_display()

    @admin.display(description="out of sync since", ordering="out_of_sync_since")
    def out_of_sync(self, state):
        since = state.out_of_sync_since
        if since is None:
            return self.get_empty_value_display()
        return format_html('<span title="{}">{} ago</span>', f"{since:%Y-%m-%d %H:%M:%S %Z}", timesince(since))

    @admin.display(description="next retry", ordering="next_retry_at")
    def next_retry(self, state):
        when = state.next_retry_at
        if when is None:
            return self.get_empty_value_display()
        due = f"in {timeuntil(when)}" if when > timezone.now() else "due now"
        return format_html(
            '<span title="{}">{}</span> (attempt {})', f"{when:%Y-%m-%d %H:%M:%S %Z}", due, state.retry_attempts + 1
        )

    @admin.display(description="last error")
    def short_error(self, state):
        return Truncator(state.last_error).chars(SHORT_ERROR_CHARS)

    @admin.display(description="snapshot")
    def snapshot_size(self, state):
        chars = CourseSyncState.objects.filter(pk=state.pk).values_list(Length("snapshot"), flat=True).first()
        return f"{chars} characters, {state.entity_count} entities"

    @admin.display(description="history")
    def history(self, state):
        return format_html(
            "{} | {}",
            changelist_of_course(SyncRun, state.course_key, "runs"),
            changelist_of_course(SyncOperation, state.course_key, "operations"),
        )

    def has_run_sync_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.run_sync")

    @admin.action(permissions=["run_sync"], description="Sync now")
    def sync_now(self, request, queryset):
        self._queue(request, queryset, force=False)

    @admin.action(permissions=["run_sync"], description="Full resync (everything sent again)")
    def full_resync(self, request, queryset):
        self._queue(request, queryset, force=True)

    @admin.action(permissions=["run_sync"], description="Dry run (show what a sync would send)")
    def dry_run(self, request, queryset):
        previews = []
        for state in queryset:
            result = api.sync_course(state.course_key, dry_run=True)
            self._log(request, state, f"Virtu sync dry run: {result.status.value}, {len(result.operations)} operations")
            previews.append(
                {
                    "result": result,
                    "enabled": api.is_sync_enabled(state.course_key),
                    "counts": result.counts(),
                    "operations": [_operation_row(operation) for operation in result.operations],
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Virtu sync dry run",
            "previews": previews,
        }
        return TemplateResponse(request, "virtu_sync_plugin/admin/dry_run.html", context)

    def _queue(self, request, queryset, *, force):
        what = "full resync" if force else "sync"
        queued, skipped = [], []
        for state in queryset:
            if not api.is_sync_enabled(state.course_key):
                skipped.append(str(state.course_key))
                self._log(
                    request, state, f"Virtu {what} not queued: the course is not synced (switch off or out of scope)"
                )
                continue
            api.queue_course_sync(state.course_key, force=force, trigger=api.TRIGGER_ADMIN)
            queued.append(str(state.course_key))
            self._log(request, state, f"Virtu {what} queued")
        if queued:
            self.message_user(request, f"Virtu {what} queued for {len(queued)} course(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"Not queued, not synced (switch off or out of scope): {', '.join(skipped)}.",
                messages.WARNING,
            )

    def _log(self, request, state, message):
        self.log_change(request, state, message)
        log.info("Virtu sync admin action by %s on %s: %s", request.user.get_username(), state.course_key, message)


def _operation_row(operation):
    """An operation as the dry-run page lists it."""
    wire = operation.to_dict()
    data = wire.get("data")
    return {**wire, "fields": "all" if wire["operation"] == "create" else ", ".join(data or ())}


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    """Each run of the pipeline for a course: what started it and what it did."""

    list_display = (
        "started_at",
        "course_key",
        "trigger",
        "forced",
        "status",
        "duration_ms",
        "creates",
        "updates",
        "deletes",
        "applied",
        "failed",
        "deferred",
        "short_error",
        "operation_log",
    )
    # Known choices only (no DISTINCT over the table), newest first by the primary key (no
    # sort of the table), a capped count: as fast with 100,000 runs as with 100.
    list_filter = ("status", "trigger", "forced", ("started_at", admin.DateFieldListFilter))
    search_fields = ("course_key",)
    ordering = ("-pk",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    readonly_fields = ("operation_log",)

    @admin.display(description="error")
    def short_error(self, run):
        return Truncator(run.error).chars(SHORT_ERROR_CHARS)

    @admin.display(description="operations")
    def operation_log(self, run):
        url = reverse("admin:virtu_sync_plugin_syncoperation_changelist")
        return format_html('<a href="{}?{}">operations</a>', url, urlencode({"run__id__exact": run.pk}))


@admin.register(SyncOperation)
class SyncOperationAdmin(ReadOnlyAdmin):
    """The operation log: each operation as sent, with the backend's answer."""

    list_display = (
        "created",
        "operation",
        "entity_type",
        "entity_id",
        "status",
        "response_status",
        "result_code",
        "attempts",
        "course_key",
        "batch_id",
    )
    list_filter = (OperationKindListFilter, EntityTypeListFilter, "status")
    search_fields = ("entity_id", "course_key", "batch_id")
    ordering = ("-pk",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ["course_key", "run", "batch_id", "sequence", "operation_id", "attempts", "created"]}),
        ("Sent", {"fields": ["operation", "entity_type", "entity_id", "sent_payload"]}),
        ("Backend's answer", {"fields": ["status", "response_status", "result_code", "detail", "acknowledged_at"]}),
    )
    readonly_fields = ("created", "sent_payload")

    @admin.display(description="payload")
    def sent_payload(self, operation):
        return format_html("<pre>{}</pre>", json.dumps(operation.payload, indent=2, ensure_ascii=False))

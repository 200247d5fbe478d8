"""
The Django admin of the Virtu sync.

Each course's sync state, its runs and its operation log, read-only; the sync scope,
audited; and actions that sync selected courses. Models are imported only to register
them; everything the actions do goes through :mod:`virtu_sync_plugin.api`.
"""

import json
import logging
from urllib.parse import urlencode

from config_models.admin import ConfigurationModelAdmin
from django.contrib import admin, messages
from django.db.models.functions import Length
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from virtu_sync_plugin import api
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


class OrgListFilter(admin.SimpleListFilter):
    """Courses of one organization (the ``org`` part of the course key)."""

    title = "organization"
    parameter_name = "org"

    def lookups(self, request, model_admin):
        keys = model_admin.get_queryset(request).values_list("course_key", flat=True)
        return [(org, org) for org in sorted({key.org for key in keys})]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(course_key__startswith=f"course-v1:{self.value()}+")


@admin.register(CourseSyncState)
class CourseSyncStateAdmin(ReadOnlyAdmin):
    """Where each course stands with the backend, with actions that sync selected courses."""

    list_display = (
        "course_key",
        "sync_status",
        "last_synced_at",
        "entity_count",
        "failed_operations",
        "deferred_operations",
        "short_error",
        "history",
    )
    list_filter = ("status", OrgListFilter)
    search_fields = ("course_key",)
    ordering = ("course_key",)
    exclude = ("snapshot",)
    readonly_fields = ("sync_status", "snapshot_size", "history")
    actions = ("sync_now", "full_resync", "dry_run")

    def get_queryset(self, request):
        # The snapshot can be large: the pages show its size, never the blob.
        return super().get_queryset(request).defer("snapshot").annotate(snapshot_chars=Length("snapshot"))

    @admin.display(description="status")
    def sync_status(self, state):
        if not api.is_sync_enabled(state.course_key):
            return f"Disabled ({state.get_status_display()})"
        return state.get_status_display()

    @admin.display(description="last error")
    def short_error(self, state):
        return Truncator(state.last_error).chars(SHORT_ERROR_CHARS)

    @admin.display(description="snapshot")
    def snapshot_size(self, state):
        return f"{state.snapshot_chars} characters, {state.entity_count} entities"

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
    list_filter = ("status", "trigger", "forced")
    search_fields = ("course_key",)
    date_hierarchy = "started_at"
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
    list_filter = ("operation", "entity_type", "status")
    search_fields = ("entity_id", "course_key", "batch_id")
    fieldsets = (
        (None, {"fields": ["course_key", "run", "batch_id", "sequence", "operation_id", "attempts", "created"]}),
        ("Sent", {"fields": ["operation", "entity_type", "entity_id", "sent_payload"]}),
        ("Backend's answer", {"fields": ["status", "response_status", "result_code", "detail", "acknowledged_at"]}),
    )
    readonly_fields = ("created", "sent_payload")

    @admin.display(description="payload")
    def sent_payload(self, operation):
        return format_html("<pre>{}</pre>", json.dumps(operation.payload, indent=2, ensure_ascii=False))

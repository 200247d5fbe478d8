"""A telemetry backend for edx-django-utils' monitoring that keeps what it is given, for tests to read."""

from contextlib import nullcontext

from edx_django_utils.monitoring import TelemetryBackend


class RecordingBackend(TelemetryBackend):
    """Set in ``OPENEDX_TELEMETRY``, as an operator sets New Relic's, Datadog's or OpenTelemetry's."""

    #: Every ``(name, value)`` set, in order, across instances (edx-django-utils makes its own).
    attributes: list[tuple[str, object]] = []

    def set_attribute(self, key, value):
        self.attributes.append((key, value))

    def record_exception(self):
        pass

    def create_span(self, name, operation_name=None):
        return nullcontext()

    def tag_root_span_with_error(self, exception):
        pass

    def set_local_root_span_name(self, name, group=None, priority=None):
        pass

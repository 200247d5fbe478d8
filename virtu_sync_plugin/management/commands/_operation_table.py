"""Change operations as the commands print them: an aligned table, or JSON lines of the wire form."""

import json
from collections.abc import Iterable

from virtu_sync_plugin.data import ChangeOperation, OperationType

COLUMNS = ("operation", "entity type", "entity id", "parent", "position", "changed fields")


def operation_row(operation: ChangeOperation) -> tuple[str, ...]:
    """One operation's cells: a create sets all fields, an update names those it changes."""
    if operation.operation is OperationType.CREATE:
        fields = "(all)"
    else:
        fields = ", ".join(operation.data or ())
    position = "" if operation.position is None else str(operation.position)
    return (
        operation.operation.value,
        operation.entity_type.name,
        operation.entity_id,
        operation.parent_id or "",
        position,
        fields,
    )


def operation_table(operations: Iterable[ChangeOperation]) -> str:
    """The operations as a table with a header line, columns aligned."""
    rows = [COLUMNS, *(operation_row(operation) for operation in operations)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    rows.insert(1, tuple("-" * width for width in widths))
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def operation_json_lines(operations: Iterable[ChangeOperation]) -> str:
    """The operations exactly as they go on the wire, one JSON object a line."""
    return "\n".join(json.dumps(operation.to_dict(), ensure_ascii=False) for operation in operations)

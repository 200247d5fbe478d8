"""
The change processor: delivers recorded operations in batches and interprets the answers.

It works through one strategy per operation type.

A strategy turns an operation into its wire form and a backend result into an
:class:`Outcome`; a new operation type is one new strategy in the table. The processor
holds back (defers) what depends on a failure of the same sync, splits a batch the
backend finds too large, and stops at a backend that stays unreachable, leaving the
rest recorded for the next sync (as it does at an answer it cannot read, whose outcome is
unknown). Every decision goes through a :class:`DeliveryJournal`
before and after each request, so a crash at any point loses nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol

from .backend_client import (
    BackendClient,
    BackendError,
    BatchTooLargeError,
    OperationResult,
    PermanentBackendError,
    TransientBackendError,
    UnreadableAnswerError,
)
from .core.operations import ChangeOperation, OperationType

APPLIED = "applied"
FAILED = "failed"
DEFERRED = "deferred"
PENDING = "pending"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one operation."""

    operation: ChangeOperation
    status: str
    code: str = ""
    detail: str = ""
    response_status: int | None = None
    #: An entity the backend lacks although the snapshot holds it: dropped from the
    #: snapshot (with its subtree), so that the next diff creates it again.
    forget: str | None = None


class OperationStrategy:
    """How one operation type goes on the wire and what its results mean."""

    operation: ClassVar[OperationType]

    def to_wire(self, operation: ChangeOperation) -> dict[str, Any]:
        """The operation as sent."""
        return operation.to_dict()

    def interpret(self, operation: ChangeOperation, result: OperationResult) -> Outcome:
        """The outcome of a backend result for this operation."""
        return Outcome(operation, APPLIED if result.status == "applied" else FAILED, result.code, result.detail, 200)


class CreateStrategy(OperationStrategy):
    """Creates upsert; a missing parent means the snapshot is wrong about that parent."""

    operation = OperationType.CREATE

    def interpret(self, operation: ChangeOperation, result: OperationResult) -> Outcome:
        outcome = super().interpret(operation, result)
        if outcome.status == FAILED and result.code == "parent_not_found":
            return replace(outcome, forget=operation.parent_id)
        return outcome


class UpdateStrategy(OperationStrategy):
    """An update of a missing entity (or a move under a missing parent) corrects the snapshot."""

    operation = OperationType.UPDATE

    def interpret(self, operation: ChangeOperation, result: OperationResult) -> Outcome:
        outcome = super().interpret(operation, result)
        if outcome.status == FAILED and result.code == "not_found":
            return replace(outcome, forget=operation.entity_id)
        if outcome.status == FAILED and result.code == "parent_not_found":
            return replace(outcome, forget=operation.parent_id)
        return outcome


class DeleteStrategy(OperationStrategy):
    """Deletes are idempotent: an entity already gone counts as deleted."""

    operation = OperationType.DELETE

    def interpret(self, operation: ChangeOperation, result: OperationResult) -> Outcome:
        if result.status == "failed" and result.code == "not_found":
            return Outcome(operation, APPLIED, result.code, result.detail, 200)
        return super().interpret(operation, result)


DEFAULT_STRATEGIES: Mapping[OperationType, OperationStrategy] = {
    strategy.operation: strategy for strategy in (CreateStrategy(), UpdateStrategy(), DeleteStrategy())
}


class DeliveryJournal(Protocol):
    """Where the processor records its decisions (the operation log and the snapshot)."""

    def rebatch(self, batch_id: str, operations: Sequence[ChangeOperation]) -> None:
        """``operations`` now travel as batch ``batch_id`` (after a 413 split)."""

    def sending(self, batch_id: str, deferred: Sequence[Outcome]) -> None:
        """``deferred`` are held back; the rest of batch ``batch_id`` is about to be sent."""

    def settled(self, batch_id: str, outcomes: Sequence[Outcome]) -> None:
        """The backend answered batch ``batch_id`` (or refused it for good)."""


@dataclass(frozen=True)
class BatchEnvelope:
    """What every batch of one course sync carries besides its operations."""

    course_id: str
    studio_url: str
    published_at: str | None
    now: Callable[[], str]

    def body(self, batch_id: str, wire_operations: list[dict[str, Any]]) -> dict[str, Any]:
        """The request body of one batch."""
        sent_at = self.now()
        return {
            "schema_version": 1,
            "batch_id": batch_id,
            "course_id": self.course_id,
            "sent_at": sent_at,
            "source": {"studio": self.studio_url, "published_at": self.published_at or sent_at},
            "operations": wire_operations,
        }


@dataclass
class DeliveryReport:
    """Outcomes of a delivery, and the error that stopped it early, if any."""

    outcomes: list[Outcome] = field(default_factory=list)
    stopped_by: BackendError | None = None
    #: Why the backend refused whole batches (each reason once), for the operator.
    refusals: list[str] = field(default_factory=list)


class ChangeProcessor:
    """Delivers batches of recorded operations and interprets the answers."""

    def __init__(
        self,
        client: BackendClient,
        journal: DeliveryJournal,
        *,
        strategies: Mapping[OperationType, OperationStrategy] = DEFAULT_STRATEGIES,
        old_parent_of: Callable[[str], str | None] = lambda entity_id: None,
    ):
        self.client = client
        self.journal = journal
        self.strategies = strategies
        self.old_parent_of = old_parent_of
        self._failed: set[str] = set()
        self._stuck_moves: set[str] = set()

    def deliver(
        self,
        batches: Sequence[tuple[str, Sequence[ChangeOperation]]],
        envelope: BatchEnvelope,
        *,
        resend: bool = False,
    ) -> DeliveryReport:
        """
        Send the batches in order; stop at the first one whose outcome is unknown.

        ``resend`` batches were sent before and never answered readably: they go exactly
        as recorded, and a refusal now proves nothing about the first attempt, so their
        outcome stays unknown (they stay recorded) rather than failed.
        """
        report = DeliveryReport()
        queue = list(batches)
        while queue:
            batch_id, operations = queue.pop(0)
            to_send, deferred = (list(operations), []) if resend else self._split_deferred(operations)
            self.journal.sending(batch_id, deferred)
            report.outcomes.extend(deferred)
            if not to_send:
                continue
            try:
                outcomes = self._send(batch_id, to_send, envelope)
            except PermanentBackendError as error:  # 413 too
                if resend:
                    report.stopped_by = error
                    break
                outcomes = self._refused(to_send, error, queue, report)
                if outcomes is None:
                    continue
            except (TransientBackendError, UnreadableAnswerError) as error:
                # Outcome unknown: the batch stays recorded, to be resent with the same ids.
                report.stopped_by = error
                break
            self._note_failures(outcomes)
            self.journal.settled(batch_id, outcomes)
            report.outcomes.extend(outcomes)
        return report

    def _refused(
        self,
        to_send: list[ChangeOperation],
        error: PermanentBackendError,
        queue: list[tuple[str, Sequence[ChangeOperation]]],
        report: DeliveryReport,
    ) -> list[Outcome] | None:
        """The outcomes of a batch refused whole (nothing applied); ``None`` when it was split instead."""
        if isinstance(error, BatchTooLargeError) and len(to_send) > 1:
            queue[:0] = self._halves(to_send)
            return None
        _note_refusal(report, error)
        code = "batch_too_large" if isinstance(error, BatchTooLargeError) else "refused"
        return [Outcome(operation, FAILED, code, str(error), error.status) for operation in to_send]

    def _send(self, batch_id: str, operations: Sequence[ChangeOperation], envelope: BatchEnvelope) -> list[Outcome]:
        strategies = [self.strategies[operation.operation] for operation in operations]
        wire = [strategy.to_wire(operation) for strategy, operation in zip(strategies, operations)]
        response = self.client.send_batch(envelope.body(batch_id, wire))
        return [
            strategy.interpret(operation, result)
            for strategy, operation, result in zip(strategies, operations, response.results)
        ]

    def _halves(self, operations: Sequence[ChangeOperation]) -> list[tuple[str, Sequence[ChangeOperation]]]:
        middle = len(operations) // 2
        halves = []
        for part in (operations[:middle], operations[middle:]):
            batch_id = str(uuid.uuid4())
            self.journal.rebatch(batch_id, part)
            halves.append((batch_id, part))
        return halves

    def _split_deferred(self, operations: Sequence[ChangeOperation]) -> tuple[list[ChangeOperation], list[Outcome]]:
        to_send, deferred = [], []
        for operation in operations:
            reason = self._deferral_reason(operation)
            if reason:
                deferred.append(Outcome(operation, DEFERRED, "deferred", reason))
                self._failed.add(operation.entity_id)
                if operation.operation is OperationType.UPDATE and operation.parent_id is not None:
                    self._stuck_moves.add(operation.entity_id)
            else:
                to_send.append(operation)
        return to_send, deferred

    def _deferral_reason(self, operation: ChangeOperation) -> str:
        if operation.parent_id is not None and operation.parent_id in self._failed:
            return f"its new parent {operation.parent_id} was not created"
        if operation.operation is OperationType.DELETE and self._stuck_moves:
            for moved in self._stuck_moves:
                if self._was_below(moved, operation.entity_id):
                    return f"{moved} has not moved out of it yet"
        return ""

    def _note_failures(self, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            operation = outcome.operation
            if outcome.status == APPLIED:  # done later in the same sync (after a resend failed)
                self._failed.discard(operation.entity_id)
                self._stuck_moves.discard(operation.entity_id)
            elif outcome.status == FAILED:
                if operation.operation is OperationType.CREATE:
                    self._failed.add(operation.entity_id)
                elif operation.operation is OperationType.UPDATE and operation.parent_id is not None:
                    self._stuck_moves.add(operation.entity_id)

    def _was_below(self, entity_id: str, ancestor_id: str) -> bool:
        parent = self.old_parent_of(entity_id)
        seen = set()
        while parent is not None and parent not in seen:
            if parent == ancestor_id:
                return True
            seen.add(parent)
            parent = self.old_parent_of(parent)
        return False


def _note_refusal(report: DeliveryReport, error: PermanentBackendError) -> None:
    if str(error) not in report.refusals:
        report.refusals.append(str(error))

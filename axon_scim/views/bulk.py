"""POST /Bulk (RFC 7644 section 3.7): many operations in one request, each applied on its own.

``protocol.bulk`` parses the BulkRequest and orders its operations by their
``bulkId`` references; ``BulkRun`` runs them. Each operation is the request
it stands for, sent alone: its body is read by ``bodies`` as that endpoint
reads it, the same ``services`` verb applies it (so the same accounts, roles,
audit event and signal follow), in its own transaction, with ``version``
checked as an If-Match header would be. An operation that fails changes
nothing, and the next one runs, until ``failOnErrors`` errors are counted.
Operations act in the token's organization only: another organization's id,
in a path or as a member, fails exactly as it does alone (404, 400).

The one exception is a cycle of references (section 3.7.1): its resources
are created, then linked, in a single transaction, so that the cycle is
applied whole or not at all; when one of its operations fails, all fail.

Consecutive user creations that name no ``bulkId:`` (an import) share a
transaction, ``BATCH_SIZE`` at most, each in a savepoint of its own: they
apply and fail one by one as alone, their audit events are sealed together,
and they become visible together when the batch commits.

A host's ``ATOMIC_REQUESTS`` does not wrap this view: the operations commit
one by one, so a long Bulk never holds the locks of those it has done.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..audit import Actor, audited
from ..conf import scim_settings
from ..extensions import resource_type
from ..models import Organization, ScimGroup, ScimUser
from ..protocol.bulk import (
    BulkOperation,
    BulkResult,
    Step,
    bulk_response,
    link_request,
    parse_bulk_request,
    plan_bulk,
    resolve_path_references,
    resolve_references,
    without_references,
)
from ..protocol.errors import BulkReferenceError, ScimError
from ..protocol.etag import make_etag
from .base import ScimView
from .bodies import patch_operations, resource_document
from .errors import scim_error_for

if TYPE_CHECKING:
    from rest_framework.views import AsView, GenericView

__all__ = ["BulkRun", "BulkView"]

Resource = ScimUser | ScimGroup


class BulkView(ScimView):
    """POST /Bulk: a BulkRequest in, a BulkResponse (200) out; 413 past the bulk limits."""

    @classmethod
    def as_view(cls, **initkwargs: Any) -> AsView[GenericView]:
        view = super().as_view(**initkwargs)
        for alias in connections:  # each operation commits on its own (see the module docstring)
            view = transaction.non_atomic_requests(using=alias)(view)
        return view

    def max_request_bytes(self) -> int:
        """``BULK_MAX_PAYLOAD_BYTES``: the ``maxPayloadSize`` of the ServiceProviderConfig."""
        return int(scim_settings.BULK_MAX_PAYLOAD_BYTES)

    def post(self, request: Request) -> Response:
        bulk = parse_bulk_request(self.body(), max_operations=scim_settings.BULK_MAX_OPERATIONS)
        run = BulkRun(self.organization, self.actor(), self.base_url())
        with durable_by_the_answer():
            run.perform(plan_bulk(bulk.operations), bulk.fail_on_errors)
        return Response(bulk_response(run.results))


@contextmanager
def durable_by_the_answer() -> Iterator[None]:
    """PostgreSQL: commits that do not wait for the disk, then one wait for all of them.

    A synchronous commit waits until its WAL is on disk (a third of the time
    of a user creation on the benchmark machine). A Bulk's answer is the
    client's only news of its operations, so they commit with
    ``synchronous_commit`` off, and one commit with the connection's own
    setting back waits, before the answer, for the WAL of all of them: each
    operation (or batch) is still a transaction, seen by others as it commits, and
    durable by the time the client learns of it, as a request alone is. After
    a crash before the answer the last operations may be lost, never half
    applied; the client, with no answer, must look anyway.
    """
    connection = connections[router.db_for_write(ScimUser) or DEFAULT_DB_ALIAS]
    pooled = scim_settings.TRANSACTION_POOLING  # a session SET would reach other clients
    if connection.vendor != "postgresql" or connection.in_atomic_block or pooled:
        yield  # SQLite has no such setting; inside a transaction nothing commits before its end
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        (setting,) = cursor.fetchone()
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        # A database error here (a lost connection) answers 503: nothing says the work is safe.
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('synchronous_commit', %s, false)", [setting])
            # A transaction given an id commits with a WAL record of its own, and waits
            # until the WAL up to it, every operation's included, is safe.
            cursor.execute("SELECT txid_current()")


# Creations per batch: a batch's row locks (its new userNames) are held until it commits.
BATCH_SIZE = 100


class _BatchBroken(Exception):
    """The batch's transaction can commit nothing more: its operations run again alone."""


def _aborted() -> bool:
    """Whether PostgreSQL refuses all but a rollback in the transaction under way."""
    connection = connections[router.db_for_write(ScimUser) or DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql" or connection.connection is None:
        return False
    # psycopg's TransactionStatus, by name: axon_scim does not import its optional psycopg.
    return bool(connection.connection.info.transaction_status.name == "INERROR")


def _batchable(operation: BulkOperation) -> bool:
    """A user creation that no other operation's outcome changes: it may share a transaction."""
    return (
        operation.method == "POST"
        and operation.resource is not None
        and operation.resource.name == "User"
        and operation.error is None
        and operation.version is None
        and not operation.references
    )


def _batches(steps: list[Step]) -> Iterator[Step | list[BulkOperation]]:
    """The steps in order: cycles whole, runs of batchable operations (at most ``BATCH_SIZE``)
    together, every other operation alone."""
    group: list[BulkOperation] = []
    for step in steps:
        if step.cyclic:
            if group:
                yield group
            group = []
            yield step
            continue
        for operation in step.operations:
            if _batchable(operation) and len(group) < BATCH_SIZE:
                group.append(operation)
                continue
            if group:
                yield group
            group = [operation] if _batchable(operation) else []
            if not group:
                yield [operation]
    if group:
        yield group


class _CycleBroken(Exception):
    """One operation of a cycle failed with ``error``, so the whole cycle rolls back."""

    def __init__(self, operation: BulkOperation, error: Exception) -> None:
        super().__init__(str(error))
        self.operation = operation
        self.error = error


@contextmanager
def _blame(operation: BulkOperation) -> Iterator[None]:
    """Whatever fails inside is the failure of ``operation``."""
    try:
        yield
    except Exception as exc:
        raise _CycleBroken(operation, exc) from exc


def _verb(name: str, operation: BulkOperation) -> Callable[..., Any]:
    """``services.create_user``, ``services.patch_group`` ...: what the request alone calls."""
    assert operation.resource is not None
    return cast(Callable[..., Any], getattr(services, f"{name}_{operation.resource.name.lower()}"))


class BulkRun:
    """One Bulk's operations as they run: the ids their bulkIds got, the results, the errors."""

    def __init__(self, organization: Organization, actor: Actor, base_url: str) -> None:
        self.organization = organization
        self.actor = actor
        self.base_url = base_url
        self.created: dict[str, str] = {}  # bulkId -> id of the resource its POST created
        self.failed: set[str] = set()  # bulkIds of POSTs that failed
        self.results: list[BulkResult] = []
        self.errors = 0

    def perform(self, steps: list[Step], fail_on_errors: int | None) -> None:
        """Run ``steps`` in order; stop once ``fail_on_errors`` operations have failed."""

        def stopped() -> bool:
            return fail_on_errors is not None and self.errors >= fail_on_errors

        for unit in _batches(steps):
            if stopped():
                return
            if isinstance(unit, Step):
                self._run_cycle(unit)
            elif len(unit) > 1:
                self._run_batch(unit, stopped)
            else:
                self._record(self._run(unit[0]))

    def _run_batch(self, group: list[BulkOperation], stopped: Callable[[], bool]) -> None:
        """Independent user creations in one transaction, each in its own savepoint.

        Each still applies whole or not at all (the service's ``audited`` block
        is a savepoint; a failed one rolls back alone, its event with it) and is
        answered as it would be alone; the batch commits once and seals its
        events, one per creation, under one hold of the audit-chain head. Should
        the batch itself fail (its commit), its operations run again one by one.
        """
        results, errors, created = len(self.results), self.errors, dict(self.created)
        failed = set(self.failed)
        try:
            with audited(self.organization):
                for operation in group:
                    if stopped():
                        break
                    self._record(self._run(operation))
                    if _aborted():  # a failure outside the operation's savepoint
                        raise _BatchBroken
        except Exception:  # nothing of the batch was committed
            del self.results[results:]
            self.errors, self.created, self.failed = errors, created, failed
            for operation in group:
                if stopped():
                    return
                self._record(self._run(operation))

    def _record(self, result: BulkResult) -> None:
        self.results.append(result)
        if result.status >= 400:
            self.errors += 1

    def _run(self, operation: BulkOperation) -> BulkResult:
        """One operation in its own transaction, as the request alone would run."""
        resource_id = self._resource_id(operation)
        if operation.error is not None:
            return self._failure(operation, operation.error, resource_id)
        try:
            self._unresolved(operation)
            data = resolve_references(operation.data, self.created)
            if operation.method == "PATCH":
                data = resolve_path_references(data, self.created)
            status, resource = self._apply(operation, data, resource_id)
        except Exception as exc:  # the operation rolled back; the next one runs
            return self._failure(operation, scim_error_for(exc), resource_id)
        if operation.method == "POST" and resource is not None:
            self.created[cast(str, operation.bulk_id)] = str(resource.pk)
        return self._success(operation, status, resource, resource_id)

    def _apply(
        self, operation: BulkOperation, data: Any, resource_id: str | None
    ) -> tuple[int, Resource | None]:
        assert operation.resource is not None
        org, actor, version = self.organization, self.actor, operation.version
        # With the organization's extensions, as the resource's own endpoint reads it.
        resource = resource_type(operation.resource, org)
        # Undeclared attributes, for the audit event.
        ignored: list[str] = []
        noted = {"ignored": ignored}
        if operation.method == "POST":
            doc = resource_document(resource, data, ignored)
            return 201, _verb("create", operation)(org, actor, doc, **noted)
        if operation.method == "PUT":
            doc = resource_document(resource, data, ignored)
            return 200, _verb("replace", operation)(
                org, actor, resource_id, doc, if_match=version, **noted
            )
        if operation.method == "PATCH":
            changes = patch_operations(data, resource, ignored)
            return 200, _verb("patch", operation)(
                org, actor, resource_id, changes, if_match=version, **noted
            )
        _verb("delete", operation)(org, actor, resource_id, if_match=version)
        return 204, None

    def _run_cycle(self, step: Step) -> None:
        """Create a cycle's resources, then link them, in one transaction: all of it or none.

        Each is created without its references to those not created yet
        (RFC 7644 section 3.7.1); a PATCH adds them once all exist.
        """
        in_cycle = {cast(str, operation.bulk_id) for operation in step.operations}
        made: dict[int, Resource] = {}
        try:
            with audited(self.organization):
                links = [self._create(operation, in_cycle, made) for operation in step.operations]
                for operation, pending in zip(step.operations, links, strict=True):
                    if pending:
                        self._link(operation, pending, made)
        except _CycleBroken as broken:  # the whole cycle rolled back
            self._fail_cycle(step, broken.operation, scim_error_for(broken.error))
            return
        for operation in step.operations:
            self._record(self._success(operation, 201, made[operation.index], None))

    def _create(
        self, operation: BulkOperation, in_cycle: set[str], made: dict[int, Resource]
    ) -> set[str]:
        """Create a resource of a cycle without the references that wait; return those."""
        assert operation.resource is not None
        with _blame(operation):
            pending = self._unresolved(operation, later=in_cycle)
            doc = resource_document(
                resource_type(operation.resource, self.organization),
                resolve_references(operation.data, self.created),
            )
            doc = without_references(doc, operation.resource, pending)
            made[operation.index] = _verb("create", operation)(self.organization, self.actor, doc)
        self.created[cast(str, operation.bulk_id)] = str(made[operation.index].pk)
        return pending

    def _link(self, operation: BulkOperation, pending: set[str], made: dict[int, Resource]) -> None:
        """Add the references a creation of the cycle left out, as a PATCH of the resource."""
        assert operation.resource is not None
        ids = [self.created[bulk_id] for bulk_id in sorted(pending)]
        with _blame(operation):
            changes = patch_operations(link_request(operation.resource, ids), operation.resource)
            made[operation.index] = _verb("patch", operation)(
                self.organization, self.actor, made[operation.index].pk, changes
            )

    def _fail_cycle(self, step: Step, culprit: BulkOperation, error: ScimError) -> None:
        for operation in step.operations:
            self.created.pop(cast(str, operation.bulk_id), None)
        for operation in step.operations:
            why = error
            if operation is not culprit:
                why = BulkReferenceError(
                    "Rolled back with the cycle of bulkId references it belongs to: the operation"
                    f' with bulkId "{culprit.bulk_id}" failed.'
                )
            self._record(self._failure(operation, why, None))

    def _unresolved(self, operation: BulkOperation, later: Collection[str] = ()) -> set[str]:
        """Its references to resources of its cycle not created yet; 409 for any other not created.

        RFC 7644 section 3.7.2: a reference to no POST of the request, or to one
        that failed, is 409 ``invalidValue``.
        """
        pending: set[str] = set()
        for bulk_id in sorted(operation.references - self.created.keys()):
            if bulk_id in later and bulk_id in operation.linkable:
                pending.add(bulk_id)
            elif bulk_id in self.failed or bulk_id in later:
                raise BulkReferenceError(f'"bulkId:{bulk_id}" names an operation that failed.')
            else:
                raise BulkReferenceError(
                    f'"bulkId:{bulk_id}" names no POST operation of this request.'
                )
        return pending

    def _resource_id(self, operation: BulkOperation) -> str | None:
        """The id of the operation's path, a ``bulkId:`` reference replaced if it was created."""
        if operation.resource_id is None:
            return None
        return cast(str, resolve_references(operation.resource_id, self.created))

    def _location(self, operation: BulkOperation, pk: object) -> str | None:
        if operation.resource is None or pk is None:
            return None
        return f"{self.base_url}/{operation.resource.endpoint}/{pk}"

    def _success(
        self,
        operation: BulkOperation,
        status: int,
        resource: Resource | None,
        resource_id: str | None,
    ) -> BulkResult:
        return BulkResult(
            operation.index,
            operation.method,
            operation.bulk_id,
            status,
            location=self._location(operation, resource.pk if resource else resource_id),
            version=make_etag(resource.version) if resource is not None else None,
        )

    def _failure(
        self, operation: BulkOperation, error: ScimError, resource_id: str | None
    ) -> BulkResult:
        created = operation.bulk_id is None or operation.bulk_id in self.created
        if operation.method == "POST" and not created:
            self.failed.add(cast(str, operation.bulk_id))
        return BulkResult(
            operation.index,
            operation.method,
            operation.bulk_id,
            error.status,
            location=self._location(operation, resource_id),
            response=error.to_body(),
        )

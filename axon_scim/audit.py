"""The audit log: who changed what, from where, in a tamper-evident chain per organization.

Services record events inside ``audited(organization)``, the transaction of
the change. The events are buffered and written at the end of that
transaction, already sealed: under a short row lock on the organization's
``AuditChain`` head, each gets the next sequence number, the previous event's
hash and its own hash. The lock is taken after every other write of the
transaction and held only until its commit, so writers of one organization
queue for a few milliseconds at most and can never deadlock on it, and two
concurrent writes can never chain to the same predecessor (no fork).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models.base import ModelState
from django.utils.timezone import now

from .conf import scim_settings
from .models import AuditChain, AuditEvent, Organization, ScimToken
from .protocol.text import printable

MASK = "********"
SECRET_KEYS = frozenset({"password", "secret", "token", "secret_hash", "secrethash"})


@dataclass(frozen=True)
class Actor:
    """Who makes a change, and from where: a SCIM token or a portal user."""

    token: ScimToken | None = None
    user: Any = None  # an AUTH_USER_MODEL instance
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""
    label: str = field(default="")

    @property
    def kind(self) -> str:
        """``token``, ``user`` or ``system``."""
        if self.token is not None:
            return "token"
        return "user" if self.user is not None else "system"

    @property
    def display(self) -> str:
        if self.label:
            return self.label
        if self.token is not None:
            return f"token {self.token.prefix}"
        if self.user is not None:
            return f"user {self.user.get_username()}"
        return "system"


SYSTEM = Actor(label="system")


def request_actor(request: Any, *, token: ScimToken | None = None, user: Any = None) -> Actor:
    """The actor of a change made through an HTTP request, with where the request came from."""
    meta = request.META
    request_id = meta.get("HTTP_X_REQUEST_ID", "")
    if not REQUEST_ID.fullmatch(request_id):  # a log is no place for arbitrary client text
        request_id = uuid.uuid4().hex
    return Actor(
        token=token,
        user=user,
        request_id=request_id,
        ip=client_ip(meta),
        # Free client text: only printable characters (PostgreSQL refuses NUL in text).
        user_agent=printable(meta.get("HTTP_USER_AGENT", ""))[:512],
    )


REQUEST_ID = re.compile(r"[A-Za-z0-9._:/=+-]{1,64}")


def client_ip(meta: Any) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or with ``NUM_PROXIES`` trusted proxies in front,
    the address the outermost of them saw in ``X-Forwarded-For``."""
    proxies = scim_settings.NUM_PROXIES
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if proxies and len(forwarded) >= proxies and forwarded[-proxies]:
        candidate = forwarded[-proxies]
    else:
        candidate = meta.get("REMOTE_ADDR") or ""
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def mask_secrets(value: Any) -> Any:
    """A copy of ``value`` with the values of secret-looking keys replaced by a mask."""
    if isinstance(value, dict):
        return {
            key: MASK if str(key).lower() in SECRET_KEYS else mask_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


_local = threading.local()


def _pending() -> list[AuditEvent] | None:
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


@contextmanager
def audited(organization: Organization) -> Iterator[None]:
    """One transaction for one change; the events it records are sealed and written at its end."""
    stack = _local.__dict__.setdefault("stack", [])
    outermost = not stack
    if outermost:
        stack.append([])
    mark = len(stack[-1])
    try:
        with transaction.atomic():
            yield
            if outermost:
                _seal(organization, stack[-1])
    except BaseException:
        # Inside another change, this one rolled back to its savepoint alone (a Bulk batch
        # goes on with the next operation): its events go with it.
        del stack[-1][mark:]
        raise
    finally:
        if outermost:
            stack.pop()


def record_event(
    organization: Organization,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: object = "",
    *,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Record one event of the change under way; written when its ``audited`` block ends."""
    event = AuditEvent(
        organization=organization,
        time=now(),
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id),
        actor_token=actor.token,
        actor_user=actor.user,
        actor_type=actor.kind,
        actor_label=actor.display,
        before=mask_secrets(before),
        after=mask_secrets(after),
        request_id=actor.request_id[:64],
        ip=actor.ip,
        user_agent=actor.user_agent[:512],
    )
    pending = _pending()
    if pending is None:  # not inside a change: seal and write it on its own
        with transaction.atomic():
            _seal(organization, [event])
    else:
        pending.append(event)
    return event


def record_events(
    organization: Organization,
    actor: Actor,
    action: str,
    resource_type: str,
    items: Iterable[tuple[object, Any]],
) -> None:
    """Record one event per ``(resource_id, after)`` of ``items``, all of one action.

    The same events as ``record_event`` for each, made faster for the many a
    role change reaching thousands of accounts records: each is a copy of the
    first with its own resource and ``after``, not a model built anew.
    """
    first: AuditEvent | None = None
    pending = _pending()
    for resource_id, after in items:
        if first is None or pending is None:
            first = record_event(
                organization, actor, action, resource_type, resource_id, after=after
            )
            continue
        event = AuditEvent.__new__(AuditEvent)
        event.__dict__.update(first.__dict__)
        event._state = ModelState()
        event._state.fields_cache = dict(first._state.fields_cache)  # organization, actor
        event.resource_id, event.after = str(resource_id), mask_secrets(after)
        pending.append(event)


def _seal(organization: Organization, events: list[AuditEvent]) -> None:
    """Chain ``events`` after the organization's last event and write them (in the transaction)."""
    if not events:
        return
    chain = AuditChain.objects.select_for_update().filter(pk=organization.pk).first()
    if chain is None:
        AuditChain.objects.bulk_create(
            [AuditChain(organization=organization)], ignore_conflicts=True
        )
        chain = AuditChain.objects.select_for_update().get(pk=organization.pk)
    for event in events:
        if event.organization_id != organization.pk:
            raise ValueError("An audited change records events of its own organization only.")
        chain.sequence += 1
        event.sequence = chain.sequence
        event.previous_hash = chain.last_hash
        event.hash = event_hash(event)
        chain.last_hash = event.hash
    if connection.vendor == "postgresql" and len(events) < COPY_FROM:
        _insert_moving_head(events, chain)
        return
    if connection.vendor == "postgresql":
        _copy(events)
    else:
        AuditEvent.objects.bulk_create(events, batch_size=1000)
    AuditChain.objects.filter(pk=chain.pk).update(
        sequence=chain.sequence, last_hash=chain.last_hash
    )


# From this many events sealed at once (a role change reaching thousands of accounts),
# PostgreSQL takes them by COPY: an INSERT would bind fifteen parameters per event.
COPY_FROM = 100


def _columns() -> tuple[list[Any], str]:
    """The fields an event is written with (all but its id), and their quoted column list."""
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    return fields, ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)


def _insert_moving_head(events: list[AuditEvent], chain: AuditChain) -> None:
    """Insert the events and move the chain head in one statement (PostgreSQL).

    The head's row is locked already (``_seal``); a data-modifying ``WITH``
    saves every write its own round trip to the head.
    """
    quote = connection.ops.quote_name
    fields, columns = _columns()
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"WITH head AS (UPDATE {quote(AuditChain._meta.db_table)}"
        " SET sequence = %s, last_hash = %s WHERE organization_id = %s)"
        f" INSERT INTO {quote(AuditEvent._meta.db_table)} ({columns})"
        f" VALUES {', '.join([row] * len(events))} RETURNING id"
    )
    params = [chain.sequence, chain.last_hash, chain.pk]
    for event in events:
        params += [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for event, (pk,) in zip(events, cursor.fetchall(), strict=True):
            event.pk = pk


def _copy(events: list[AuditEvent]) -> None:
    fields, columns = _columns()
    quote = connection.ops.quote_name
    sql = f"COPY {quote(AuditEvent._meta.db_table)} ({columns}) FROM STDIN"
    # JSON goes as its text, which the server parses, as it would the INSERT's parameter.
    is_json = [isinstance(f, models.JSONField) for f in fields]
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for event in events:
            values = [getattr(event, f.attname) for f in fields]
            copy.write_row(
                [
                    json.dumps(value) if json_field and value is not None else value
                    for value, json_field in zip(values, is_json, strict=True)
                ]
            )


def chain_keys() -> list[str]:
    """The key that seals new events, then older keys that verification still accepts."""
    if scim_settings.AUDIT_CHAIN_KEY:
        return [scim_settings.AUDIT_CHAIN_KEY]
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def event_hash(event: AuditEvent, key: str | None = None) -> str:
    """HMAC-SHA256 over the event's content and the previous event's hash.

    Keyed, so that someone who can write to the database but does not hold
    the key cannot rewrite a stretch of the chain and re-seal it.
    """
    content = {
        "organization": event.organization_id,
        "sequence": event.sequence,
        "previous": event.previous_hash,
        "time": event.time.isoformat(),
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        # Not the actor's foreign keys: deleting an account sets them to NULL,
        # which must not read as tampering. Type and label identify the actor.
        "actor_type": event.actor_type,
        "actor_label": event.actor_label,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "ip": event.ip,
        "user_agent": event.user_agent,
    }
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    secret = key if key is not None else chain_keys()[0]
    return hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    """The result of verifying one organization's chain."""

    ok: bool
    checked: int
    broken_event_id: int | None = None
    broken_sequence: int | None = None
    reason: str = ""
    unsealed: int = 0


def verify_chain(organization: Organization) -> ChainCheck:
    """Recompute the organization's chain and report the first broken link, if any."""
    events = (
        AuditEvent.objects.for_tenant(organization)
        .filter(sequence__isnull=False)
        .order_by("sequence")
        .iterator(chunk_size=2000)
    )
    unsealed = AuditEvent.objects.for_tenant(organization).filter(sequence__isnull=True).count()
    previous, expected, checked = "", 1, 0
    for event in events:
        problem = ""
        if event.sequence != expected:
            problem = f"sequence {expected} is missing (next is {event.sequence})"
        elif event.previous_hash != previous:
            problem = "previous_hash does not match the previous event's hash"
        elif not any(
            hmac.compare_digest(event.hash, event_hash(event, key)) for key in chain_keys()
        ):
            problem = "the event's content does not match its hash"
        if problem:
            return ChainCheck(False, checked, event.pk, event.sequence, problem, unsealed)
        previous, expected, checked = event.hash, expected + 1, checked + 1
    head = AuditChain.objects.filter(pk=organization.pk).first()
    if head is not None and (head.sequence, head.last_hash) != (checked, previous):
        return ChainCheck(
            False,
            checked,
            None,
            checked + 1,
            f"the chain head is at sequence {head.sequence}: events after {checked} are missing",
            unsealed,
        )
    if unsealed:
        return ChainCheck(False, checked, None, None, f"{unsealed} events are not sealed", unsealed)
    return ChainCheck(True, checked)

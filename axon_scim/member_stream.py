"""A large group's members, streamed from a PostgreSQL cursor: no worker holds the whole array.

``GET /Groups/{id}`` answers every member, and a group may have a million.
PostgreSQL writes each member's JSON text (``rendering.MEMBER_ITEM_SQL``);
a group of up to ``CHUNK`` members comes back in one statement and is
answered whole, as before. A larger one is streamed:

1. In one REPEATABLE READ transaction the view reads the group again and
   declares a cursor ``WITH HOLD`` over its members, ``CHUNK`` members of
   JSON text per row. The commit materializes the held cursor from that
   snapshot, on the database server: the members sent are those of the
   version that the ETag names, and whatever can fail in the query
   (the statement timeout included) fails before the response exists.
2. A ``StreamingHttpResponse`` sends the document's head, then one FETCH
   per chunk, then its tail. The cursor is closed when the response is,
   also when the client leaves before the end.

Past the first byte the status cannot change: a FETCH that fails (the
database going away) ends the body short, which a client sees as broken
JSON, and the WSGI server logs it. SQLite, a request already inside a
transaction (``ATOMIC_REQUESTS``: a held cursor must outlive the view), and
``AXON_SCIM["STREAM_MEMBERS"] = False`` (PgBouncer in transaction mode, where
the next FETCH may reach another server session) take the plain path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import count
from typing import Any
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, Error, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper

from .conf import scim_settings
from .models import ScimGroup, ScimMembership
from .rendering import MEMBER_ITEM_SQL, members_from_sql

__all__ = [
    "CHUNK",
    "MemberChunks",
    "StreamedDocument",
    "can_stream",
    "first_chunk",
    "group_connection",
]

logger = logging.getLogger(__name__)

# Members per chunk: about 150 bytes of JSON each, so a chunk is under a megabyte.
CHUNK = 5000
_names = count()


def group_connection() -> BaseDatabaseWrapper:
    return connections[router.db_for_read(ScimGroup) or DEFAULT_DB_ALIAS]


def can_stream() -> bool:
    """Whether a large group's members may be streamed on this request's connection."""
    connection = group_connection()
    return bool(
        scim_settings.STREAM_MEMBERS
        # A held cursor outlives its transaction: a transaction-mode pooler cannot keep it.
        and not scim_settings.TRANSACTION_POOLING
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )


def _items(group_id: UUID, organization_id: int, urls: dict[str, str]) -> tuple[str, list[Any]]:
    """The group's members as rows ``(item, id)``: each one's JSON text, and its row id."""
    connection = group_connection()
    sql = (
        f"SELECT {MEMBER_ITEM_SQL} AS item, m.id FROM {members_from_sql(connection)}"
        " WHERE m.group_id = %s AND m.organization_id = %s"
    )
    return sql, [urls["User"], urls["Group"], group_id, organization_id]


def first_chunk(group_id: UUID, organization_id: int, urls: dict[str, str]) -> str | None:
    """The whole ``members`` JSON array of a group of at most ``CHUNK`` members, else None.

    One statement: an index probe counts up to ``CHUNK + 1`` members, and only
    a group within the limit has its array written (PostgreSQL runs the
    uncorrelated subquery of a CASE branch only when the branch is taken).
    """
    items, params = _items(group_id, organization_id, urls)
    table = group_connection().ops.quote_name(ScimMembership._meta.db_table)
    sql = (
        "SELECT big, CASE WHEN big THEN NULL ELSE"
        f" (SELECT string_agg(item, ',' ORDER BY id) FROM ({items}) i) END"
        f" FROM (SELECT count(*) > {CHUNK} AS big FROM (SELECT 1 FROM {table}"
        f" WHERE group_id = %s AND organization_id = %s LIMIT {CHUNK + 1}) p) probe"
    )
    with group_connection().cursor() as cursor:
        cursor.execute(sql, [*params, group_id, organization_id])
        big, text = cursor.fetchone()
    return None if big else f"[{text or ''}]"


class MemberChunks:
    """A held cursor over a group's members, ``CHUNK`` of them per row of JSON text."""

    def __init__(self, group_id: UUID, organization_id: int, urls: dict[str, str]) -> None:
        """Declare the cursor; inside a transaction, whose commit materializes it."""
        self.connection = group_connection()
        self.name = f"axon_scim_members_{next(_names)}"
        self.open = True
        items, params = _items(group_id, organization_id, urls)
        sql = (
            f"DECLARE {self.name} NO SCROLL CURSOR WITH HOLD FOR"
            " SELECT string_agg(item, ',' ORDER BY n) FROM"
            f" (SELECT item, row_number() OVER (ORDER BY id) - 1 AS n FROM ({items}) i) numbered"
            f" GROUP BY n / {CHUNK} ORDER BY n / {CHUNK}"
        )
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)

    def __iter__(self) -> Iterator[str]:
        while self.open:
            with self.connection.cursor() as cursor:
                cursor.execute(f"FETCH NEXT FROM {self.name}")
                row = cursor.fetchone()
            if row is None:
                return
            yield row[0]

    def close(self) -> None:
        """Free the cursor (and its materialized rows); idempotent, never raises."""
        if not self.open:
            return
        self.open = False
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(f"CLOSE {self.name}")
        except Error:
            # A connection that broke has lost the cursor with it.
            logger.debug("Could not close cursor %s", self.name, exc_info=True)


class StreamedDocument:
    """The bytes of a Group document whose ``members`` come from ``chunks``.

    Django's ``StreamingHttpResponse`` calls ``close`` when the response is
    closed, whether or not the body was sent to its end.
    """

    def __init__(self, head: str, chunks: MemberChunks, tail: str) -> None:
        self.head, self.chunks, self.tail = head, chunks, tail

    def __iter__(self) -> Iterator[bytes]:
        separator = ""
        yield f'{self.head}"members":['.encode()
        for chunk in self.chunks:
            yield (separator + chunk).encode()
            separator = ","
        yield f"]{self.tail}".encode()
        self.chunks.close()

    def close(self) -> None:
        self.chunks.close()

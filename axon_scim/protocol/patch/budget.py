"""How much work a PATCH request asks of the server, and the limit a caller sets on it.

RFC 7644 section 3.12 lets a server refuse with 400 ``tooMany`` what it is not
willing to process. The cost of a request is the sum, over its operations
(after a path-less ``add``/``replace`` is expanded into one operation per
attribute), of::

    max(1, values) x max(1, terms)

where ``values`` is the number of values the operation carries (the length of
a list, 1 for a single value, 0 for none) and ``terms`` the attribute
comparisons in its path's value filter (``emails[type eq "work"]`` has one).
Each value is looked up or written once, and a value filter is evaluated
against every value of its attribute, so the cost bounds both.

``parse_patch_request`` adds the cost up operation by operation and stops at
the first one that goes over, so a request over the limit is refused before
the rest of it is even parsed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import TooManyError
from ..filter import filter_cost

if TYPE_CHECKING:  # parse imports this module
    from .parse import PatchOperation

__all__ = ["PatchMeter", "operation_cost", "patch_cost"]


def operation_cost(operation: PatchOperation) -> int:
    """``max(1, values) x max(1, filter terms)`` of one parsed operation."""
    value = operation.value
    values = len(value) if isinstance(value, list) else int(value is not None)
    path_filter = operation.path.filter if operation.path is not None else None
    terms = filter_cost(path_filter).terms if path_filter is not None else 0
    return max(1, values) * max(1, terms)


def patch_cost(operations: Iterable[PatchOperation]) -> int:
    """The cost of a whole request: the sum of its operations' costs."""
    return sum(operation_cost(operation) for operation in operations)


class PatchMeter:
    """Adds up the cost of a request as its operations are parsed; 400 ``tooMany`` past ``limit``.

    Example::

        meter = PatchMeter(2_500)
        for index, raw in enumerate(raw_operations):
            parsed = parse_one(raw)
            meter.charge(index, parsed)  # 400 tooMany once the total passes 2,500
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.spent = 0

    def charge(self, index: int, operations: Iterable[PatchOperation]) -> None:
        """Add the cost of ``Operations[index]`` (expanded into ``operations``)."""
        if self.limit is None:
            return
        self.spent += patch_cost(operations)
        if self.spent > self.limit:
            raise TooManyError(
                f"This PATCH request asks for more work than this server allows: its cost"
                f" passes {self.limit} at Operations[{index}] (each operation costs"
                f" max(1, values) x max(1, value filter terms)). Send it as several smaller"
                " requests."
            )

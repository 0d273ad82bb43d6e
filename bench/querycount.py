"""Counts the SQL queries of each request (bench settings only, never in the app).

Added first in MIDDLEWARE by the bench settings modules; the count leaves in
an ``X-Bench-Queries`` response header that the load generator averages.
A request with an ``X-Bench-Sql`` header also gets its statements back, with
their parameters in, as base64 JSON in that response header (S2c's plans).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse


class QueryCountMiddleware:
    """Wraps the whole request in a ``connection.execute_wrapper`` that counts statements."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count, statements, wanted = 0, [], "X-Bench-Sql" in request.headers

        def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal count
            count += 1
            result = execute(sql, params, many, context)
            if wanted:
                sent = connection.ops.last_executed_query(context["cursor"], sql, params)
                statements.append(sent or sql)
            return result

        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Bench-Queries"] = str(count)
        if wanted:
            response["X-Bench-Sql"] = base64.b64encode(json.dumps(statements).encode()).decode()
        return response

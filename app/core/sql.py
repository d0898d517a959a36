"""Small SQL building blocks shared by the parts' queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement


def any_of(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column = ANY(:array)`: one array parameter instead of `IN (:p1, ..., :pn)`.

    The statement text is the same whatever the number of values, so SQLAlchemy compiles it once and
    psycopg prepares it once (an IN list is re-rendered for every request and is a new statement for
    every length: a page of 50 batch ids sent 50 parameters three times per list request). PostgreSQL
    plans `= ANY(array)` like IN: an index on the column is used the same way."""
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))

"""Querysets whose SQL the ORM builds once per process and database, then runs with each call's values.

Turning a queryset into SQL costs Django's compiler 0.1–0.8 ms of CPU (bench/login_steps.py measured
0.26 ms on average over a sign-in's statements, a quarter of the request's CPU besides the password
hash), several times what sending the statement and reading its row costs. The statements that run on
every sign-in or authorization never change shape, only their values. A `CompiledQuery` builds its
queryset once with stand-in values (values no real row has), finds where each stand-in went among the
compiled parameters, and from then on runs that SQL with the call's values in their places. Rows are
turned into what iterating the queryset gives (model instances with their select_related objects and
annotations, values() dicts, values_list tuples or flat values) by the ORM's own converters and populators.

Django keeps no such cache, and no maintained library was found that adds one. This one stays safe by
refusing what it cannot replay exactly; such a query is built by the ORM on every call, as before:

- a stand-in that does not show up among the parameters as itself (the ORM transformed it: `__contains`
  wraps it in `%`, a lookup may lower-case it);
- a queryset whose SQL or other parameters differ when built again with other stand-ins that hold what
  LIKE escapes (`%`, `_`): a lookup that escapes or transforms values, or a queryset that reads the clock
  or anything else that changes (that value would be frozen);
- other result kinds (named tuples), prefetch_related, and querysets of a related manager.

A call whose values are not of the stand-ins' types (None, a string for a number) is built by the ORM,
which converts and checks them as it always does. On PostgreSQL, a string value holding a NUL finds no
rows and sends no statement: PostgreSQL refuses to compare one (the ORM would raise DataError, a 500 on
`client_id=%00`), and no text it stores can hold one. `build` must depend only on its arguments. Call sites
keep their queryset in `build`, so reading them shows the query as the ORM states it.

With `cache=` (config/postgresql/client_rows.py's copy, for a query of the tables it watches), the rows a
call's values read are kept there, and a call the copy answers sends no statement. The rows are kept as
the database gave them; every call turns them into new objects, and copies any list or dict among them, so
callers never share what one of them might change.
"""

import copy
import logging
import uuid
import weakref
from collections.abc import Callable, Hashable, Sequence
from functools import partial
from typing import Any, Protocol

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import (  # type: ignore[attr-defined]  # get_related_populators: not in the stubs
    FlatValuesListIterable,
    ModelIterable,
    ValuesIterable,
    ValuesListIterable,
    get_related_populators,
)

logger = logging.getLogger(__name__)

_REPLAYED_KINDS = (ModelIterable, ValuesIterable, ValuesListIterable, FlatValuesListIterable)
# Per column position: the converters to apply, and the expression they convert for.
_Converters = dict[int, tuple[list[Callable[..., Any]], Any]]


class RowCache(Protocol):
    """What CompiledQuery needs of a cache (config.postgresql.notified_cache.NotifiedCache)."""

    def get(self, alias: str, key: Hashable, load: Callable[[], Any]) -> Any: ...


class _Compiled:
    """One database's SQL and how to read its rows."""

    def __init__(self, queryset: QuerySet[Any, Any], alias: str, stand_ins: tuple[Any, ...]) -> None:
        compiler = queryset.query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        self.params: list[Any] = list(params)
        # For each parameter: the index of the stand-in it is, and whether it was rendered as a UUID's hex
        # (SQLite), or None for a constant of the query.
        self.slots: list[tuple[int, bool] | None] = [_slot(param, stand_ins) for param in params]
        self.kind: type = queryset._iterable_class
        self.col_count = compiler.col_count
        self.trim = compiler.has_extra_select  # ordering columns the ORM adds after the selected ones
        self.expressions = [column[0] for column in compiler.select[: compiler.col_count]]
        self.names: list[str] = []
        if self.kind is ValuesIterable:  # as ValuesIterable names a row's values
            query = queryset.query
            self.names = list(query.selected) if query.selected else [
                *query.extra_select, *query.values_select, *query.annotation_select]
        if self.kind is ModelIterable:
            klass_info = compiler.klass_info
            self.model: type[Model] = klass_info["model"]
            fields = klass_info["select_fields"]
            self.model_slice = slice(fields[0], fields[-1] + 1)
            self.init_list = [column[0].target.attname for column in compiler.select[self.model_slice]]
            self.related_populators = get_related_populators(klass_info, compiler.select, alias)
            self.annotation_col_map: dict[str, int] = dict(compiler.annotation_col_map or {})
        # Converters per connection object (each thread has its own; a converter may be its method).
        self._converters: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Converters] = weakref.WeakKeyDictionary()

    def converters(self, connection: BaseDatabaseWrapper) -> _Converters:
        cached = self._converters.get(connection)
        if cached is not None:
            return cached
        found: _Converters = {}  # as SQLCompiler.get_converters, for this connection
        for position, expression in enumerate(self.expressions):
            if expression:
                backend = connection.ops.get_db_converters(expression)
                field = expression.get_db_converters(connection)
                if backend or field:
                    found[position] = (backend + field, expression)
        self._converters[connection] = found
        return found

    def bind(self, values: Sequence[Any]) -> list[Any]:
        return [param if slot is None else (values[slot[0]].hex if slot[1] else values[slot[0]])
                for param, slot in zip(self.params, self.slots, strict=True)]

    def rows(self, alias: str, values: tuple[Any, ...]) -> list[Sequence[Any]]:
        with connections[alias].cursor() as cursor:
            cursor.execute(self.sql, self.bind(values))
            rows: list[Sequence[Any]] = cursor.fetchall()
        return [row[: self.col_count] for row in rows] if self.trim else rows

    def results(self, alias: str, rows: list[Sequence[Any]]) -> list[Any]:
        connection = connections[alias]
        converters = self.converters(connection)
        if converters:
            rows = [_converted(row, converters, connection) for row in rows]
        if self.kind is FlatValuesListIterable:
            return [row[0] for row in rows]
        if self.kind is ValuesListIterable:
            return [tuple(row) for row in rows]
        if self.kind is ValuesIterable:
            return [dict(zip(self.names, row, strict=True)) for row in rows]
        return [self._instance(row, alias) for row in rows]

    def _instance(self, row: Sequence[Any], alias: str) -> Model:
        # As ModelIterable: the model's columns, then each select_related object, then annotations.
        obj = self.model.from_db(alias, self.init_list, row[self.model_slice])
        for populator in self.related_populators:
            populator.populate(row, obj)
        for name, position in self.annotation_col_map.items():
            setattr(obj, name, row[position])
        return obj


def _slot(param: Any, stand_ins: tuple[Any, ...]) -> tuple[int, bool] | None:
    for index, stand_in in enumerate(stand_ins):
        if type(param) is type(stand_in) and param == stand_in:
            return index, False
        if isinstance(stand_in, uuid.UUID) and param == stand_in.hex:
            return index, True
    return None


def _variant(stand_in: Any) -> Any:
    """Another value of the stand-in's type, with what LIKE-based lookups escape in it."""
    if isinstance(stand_in, str):
        return stand_in + "%_\\'"
    if isinstance(stand_in, int) and not isinstance(stand_in, bool):
        return stand_in - 1
    if isinstance(stand_in, uuid.UUID):
        return uuid.UUID(int=stand_in.int ^ 1)
    return stand_in


def _converted(row: Sequence[Any], converters: _Converters, connection: BaseDatabaseWrapper) -> list[Any]:
    row = list(row)
    for position, (functions, expression) in converters.items():
        value = row[position]
        for function in functions:
            value = function(value, expression, connection)
        row[position] = value
    return row


def _unshared(rows: list[Sequence[Any]]) -> list[Sequence[Any]]:
    """Kept rows as a caller may use them: each list or dict among their values copied (other values a
    driver gives, str, numbers, dates, UUIDs, bytes, are immutable)."""
    return [tuple(copy.deepcopy(value) if isinstance(value, (list, dict)) else value for value in row)
            if any(isinstance(value, (list, dict)) for value in row) else row for row in rows]


def first_row(queryset: QuerySet[Any, Any]) -> QuerySet[Any, Any]:
    """The queryset .first() runs: in its ordering, else by primary key, one row (for CompiledQuery.first)."""
    return (queryset if queryset.ordered else queryset.order_by("pk"))[:1]


class CompiledQuery:
    """`build(*values)`'s results, with its SQL built once per database (see the module docstring).

        _USER_BY_EMAIL = CompiledQuery(lambda email: User.objects.filter(email__iexact=email).order_by("pk")[:1],
                                       "stand-in@gatehouse.invalid")
        user = _USER_BY_EMAIL.first(email)

    `stand_ins`: one per argument of `build`, of the type the real values have, equal to no real value and
    to no constant of the query. `build` reads from the database the router gives (no `.using()`).
    `cache`: where to keep rows between calls, for a query that reads only tables the cache watches.
    """

    def __init__(self, build: Callable[..., QuerySet[Any, Any]], *stand_ins: Any,
                 cache: RowCache | None = None) -> None:
        self.build, self.stand_ins, self.cache = build, stand_ins, cache
        self._model: type[Model] | None = None
        self._compiled: dict[str, _Compiled | None] = {}  # alias -> its SQL, or None: built every time

    def _compile(self, queryset: QuerySet[Any, Any], alias: str) -> _Compiled | None:
        if queryset._iterable_class not in _REPLAYED_KINDS or getattr(queryset, "_prefetch_related_lookups", None) \
                or getattr(queryset, "_known_related_objects", None):
            return None
        compiled = _Compiled(queryset, alias, self.stand_ins)
        # Built again with other values, which a lookup would escape or transform if it does so to any (LIKE's
        # % and _): only the stand-ins' places may differ, and only by those values, as themselves.
        variants = tuple(_variant(stand_in) for stand_in in self.stand_ins)
        again = _Compiled(self.build(*variants), alias, variants)
        placed = {slot[0] for slot in compiled.slots if slot is not None}
        if again.sql != compiled.sql or again.slots != compiled.slots or placed != set(range(len(self.stand_ins))) \
                or compiled.bind(variants) != again.params:
            # Expected for some lookups on some backends (SQLite's iexact): a fact to log, not a fault.
            logger.info("CompiledQuery %s: its SQL cannot be replayed, so the ORM builds it on every call",
                           getattr(self.build, "__qualname__", repr(self.build)))
            return None
        return compiled

    def __call__(self, *values: Any) -> list[Any]:
        """What list(build(*values)) gives."""
        if len(values) != len(self.stand_ins):
            raise TypeError(f"{len(self.stand_ins)} values expected, {len(values)} given")
        alias = router.db_for_read(self._model) if self._model is not None else None
        if alias is None or alias not in self._compiled:
            queryset = self.build(*self.stand_ins)
            self._model, alias = queryset.model, queryset.db
            self._compiled[alias] = self._compile(queryset, alias)
        if connections[alias].vendor == "postgresql" and any(isinstance(value, str) and "\x00" in value
                                                             for value in values):
            return []
        compiled = self._compiled[alias]
        if compiled is None or not all(type(value) is type(stand_in)
                                       for value, stand_in in zip(values, self.stand_ins, strict=True)):
            # A value of another type (None, a str for an int column) gets the ORM's conversions and checks.
            return list(self.build(*values))
        if self.cache is None:
            return compiled.results(alias, compiled.rows(alias, values))
        rows = self.cache.get(alias, (self, alias, values), partial(compiled.rows, alias, values))
        return compiled.results(alias, _unshared(rows))

    def first(self, *values: Any) -> Any:
        """The first result, or None (`build` slices [:1] and orders as .first() would)."""
        results = self(*values)
        return results[0] if results else None

    def replayed(self, alias: str = "default") -> bool:
        """Whether calls on this database run the stored SQL (tests ask)."""
        return self._compiled.get(alias) is not None

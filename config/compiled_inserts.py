"""INSERTs of one new row whose SQL the ORM builds once per model and database (config/compiled_queries.py does the
same for reads).

`Model.save()` of a new row costs ~0.3 ms of CPU, of which sending the statement and reading back its id is
~0.1 ms: the rest is Django working out again which fields to write, how to quote them and what to return
(bench/RESULTS.md, session 14). A sign-in writes a few rows that never change shape (its UserSession, its audit
events, the code's AuthorizationRecord). `insert(obj)` writes such a row as `obj.save()` would: each field's
`pre_save(obj, add=True)` and `get_db_prep_save()` give the values, as Django's insert compiler takes them, and
the primary key the database returns is set on `obj`. The SQL is the compiler's own, built from the first row
written and kept.

It stays exact by refusing what it does not replay, and saves such a row with `obj.save()` instead:
- a model with `pre_save` or `post_save` receivers (asked at each call), a parent model (multi-table
  inheritance), a field with a database default or a generated field, a primary key that is not the
  database's to choose, or other fields the database returns;
- a value that is an expression (F(), a function) rather than a plain value;
- a field with its own placeholder, a database that cannot return the new key from its INSERT, or a statement
  whose SQL does not hold one plain placeholder per field.
"""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, signals
from django.db.models.fields import NOT_PROVIDED, Field
from django.db.models.sql import InsertQuery

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Model)

_sql: dict[tuple[type[Model], str], str | None] = {}  # None: that model is saved by the ORM


def _plain_fields(model: type[Model]) -> list["Field[Any, Any]"] | None:
    """The fields an INSERT of a new row writes, or None when the model is one this module does not replay."""
    meta = model._meta
    if meta.parents or meta.auto_field is None or meta.auto_field is not meta.pk:
        return None
    if meta.db_returning_fields != [meta.pk]:
        return None
    fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
    if any(getattr(field, "generated", False) or getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED
           for field in fields):
        return None
    return fields


def _values(obj: Model, fields: list["Field[Any, Any]"], connection: BaseDatabaseWrapper) -> list[Any] | None:
    values = []
    for field in fields:
        value = field.pre_save(obj, True)
        if hasattr(value, "resolve_expression"):
            return None
        values.append(field.get_db_prep_save(value, connection=connection))
    return values


def _compile(model: type[Model], obj: Model, fields: list["Field[Any, Any]"], using: str) -> str | None:
    """The compiler's INSERT of `obj` with RETURNING its primary key, with one plain placeholder per field; or
    None. Django's compiler calls each field's pre_save() too: the values are worked out after this."""
    if not connections[using].features.can_return_columns_from_insert:
        return None
    if any(hasattr(field, "get_placeholder") for field in fields):
        return None
    query = InsertQuery(model)
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [model._meta.pk]
    statements = compiler.as_sql()
    if len(statements) != 1 or statements[0][0].count("%s") != len(fields) or len(statements[0][1]) != len(fields):
        return None
    sql: str = statements[0][0]
    return sql


def insert(obj: M, using: str | None = None, *, save: Callable[[], object] | None = None) -> M:
    """Write the new row `obj` (its primary key unset) as `obj.save()` would, and return it with its key. `save`:
    what saves a row this module does not replay, when not `obj.save(using=using)` (a model whose own save()
    calls this)."""
    model = type(obj)
    using = using or router.db_for_write(model, instance=obj)
    fields = _plain_fields(model)

    def saved_by_the_orm() -> M:
        save() if save is not None else obj.save(using=using)
        return obj

    if (fields is None or obj.pk is not None or _sql.get((model, using), "") is None
            or signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model)):
        return saved_by_the_orm()
    # Django's own first step of save(): a related object saved after it was assigned gives its key now.
    obj._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]  # not in the stubs
    key = (model, using)
    if key not in _sql:
        _sql[key] = _compile(model, obj, fields, using)
        if _sql[key] is None:
            logger.info("compiled insert: %s is saved by the ORM (its INSERT cannot be replayed)", model.__name__)
    sql = _sql[key]
    connection = connections[using]
    if sql is None or (values := _values(obj, fields, connection)) is None:
        return saved_by_the_orm()
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, values)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding, obj._state.db = False, using
    return obj

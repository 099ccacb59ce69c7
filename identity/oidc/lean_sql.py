"""Hand-written SQL for the lean token paths: statements built once per database from the models'
own tables and columns, rows turned into model instances as the ORM would (Model.from_db).

Building a statement costs the ORM several times what running it costs on the token paths; these
statements never change shape, so they are written once and run with each request's values.
"""

import functools
import uuid
from collections.abc import Callable

from django.db import connections, router
from django.db.models import Model, QuerySet


def cursor(alias: str):
    """A cursor for the lean paths' fixed statements: prepared on the server where the backend offers
    it (config.postgresql: parsed and planned once per connection), else Django's own."""
    connection = connections[alias]
    prepared = getattr(connection, "prepared_cursor", None)
    return prepared() if prepared is not None else connection.cursor()


def quote(alias: str):
    return connections[alias].ops.quote_name


@functools.cache
def _fields(model: type[Model], only: tuple[str, ...] | None) -> list:
    """The concrete fields to read, in _meta order: all, or those whose attname is in `only`."""
    fields = model._meta.concrete_fields
    if only is None:
        return list(fields)
    chosen = [field for field in fields if field.attname in only]
    if len(chosen) != len(set(only)):
        raise ValueError(f"{model.__name__} has no field among {sorted(set(only) - {f.attname for f in chosen})}")
    return chosen


def columns(model: type[Model], table_alias: str, alias: str, only: tuple[str, ...] | None = None) -> str:
    """`t."col", …` for every concrete field of the model (or those named in `only`), in _meta
    order (see instance())."""
    q = quote(alias)
    return ", ".join(f"{table_alias}.{q(field.column)}" for field in _fields(model, only))


def width(model: type[Model], only: tuple[str, ...] | None = None) -> int:
    """How many columns columns(model, …, only) reads."""
    return len(_fields(model, only))


# (alias, model, only) -> (fields, attnames, per-field converters): what the ORM's compiler applies
# to each column.
_readers: dict[tuple, tuple[list, list[str], list[list]]] = {}


def instance(model: type[Model], alias: str, values, only: tuple[str, ...] | None = None) -> Model:
    """A model instance from the values of columns(model, …, only), as a queryset would build it
    (with .only(): the other fields deferred, loaded by a query of their own if ever read)."""
    connection = connections[alias]
    reader = _readers.get((alias, model, only))
    if reader is None:
        fields, attnames, converters = _fields(model, only), [], []
        for field in fields:
            column = field.get_col(model._meta.db_table)
            attnames.append(field.attname)
            converters.append(connection.ops.get_db_converters(column) + column.get_db_converters(connection))
        reader = _readers[alias, model, only] = (fields, attnames, converters)
    fields, attnames, converters = reader
    converted = []
    for value, field_converters, field in zip(values, converters, fields, strict=True):
        for converter in field_converters:
            value = converter(value, field, connection)
        converted.append(value)
    return model.from_db(alias, attnames, converted)


# (alias, model, returning) -> (sql, fields)
_inserts: dict[tuple, tuple[str, list]] = {}


def insert(model: type[Model], alias: str, values: dict, *, returning_pk: bool = False):
    """INSERT one row (values by attname, missing ones null) as Model.save() would store it; its
    primary key when asked for."""
    key = (alias, model, returning_pk)
    compiled = _inserts.get(key)
    connection = connections[alias]
    if compiled is None:
        q = quote(alias)
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        sql = (  # names from the models, values as parameters
            f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "  # noqa: S608
               f"VALUES ({', '.join(['%s'] * len(fields))})")
        if returning_pk and connection.features.can_return_columns_from_insert:
            returning, _ = connection.ops.return_insert_columns([model._meta.pk])
            sql += " " + returning
        compiled = _inserts[key] = (sql, fields)
    sql, fields = compiled
    params = [field.get_db_prep_save(values.get(field.attname), connection) for field in fields]
    with cursor(alias) as db_cursor:
        db_cursor.execute(sql, params)
        if not returning_pk:
            return None
        if connection.features.can_return_columns_from_insert:
            return db_cursor.fetchone()[0]
        return connection.ops.last_insert_id(db_cursor, model._meta.db_table, model._meta.pk.column)


# (name, alias) -> (sql, params, slots): slots[i] = (index of the stand-in, how it was rendered) or None.
_compiled: dict[tuple[str, str], tuple[str, list, list]] = {}


def _rendered(param, stand_in):
    """How the compiled parameters show a stand-in: itself, or a UUID as hex (SQLite)."""
    if type(param) is type(stand_in) and param == stand_in:
        return "same"
    if isinstance(stand_in, uuid.UUID) and param == stand_in.hex:
        return "hex"
    return None


def fetch(name: str, build: Callable[..., QuerySet], stand_ins: tuple, values: tuple) -> list[tuple]:
    """The rows of build(*values), a values_list queryset, with its SQL built by the ORM once per
    process and database (with stand_ins, values no real row has) and then run with these values.

    If a stand-in does not show up among the compiled parameters (another backend renders it
    differently), the ORM builds the query every time, as before.
    """
    model = _models.get(name)
    alias = router.db_for_read(model) if model is not None else None
    entry = _compiled.get((name, alias)) if alias is not None else None
    if entry is None:
        queryset = build(*stand_ins)
        alias = router.db_for_read(queryset.model)
        _models[name] = queryset.model
        sql, params = queryset.using(alias).query.get_compiler(using=alias).as_sql()
        slots = []
        for param in params:
            slot = None
            for index, stand_in in enumerate(stand_ins):
                how = _rendered(param, stand_in)
                if how is not None:
                    slot = (index, how)
                    break
            slots.append(slot)
        if {slot[0] for slot in slots if slot} != set(range(len(stand_ins))):
            return [tuple(row) for row in build(*values).using(alias)]
        entry = _compiled[name, alias] = (sql, list(params), slots)
    sql, params, slots = entry
    bound = [param if slot is None else (values[slot[0]] if slot[1] == "same" else values[slot[0]].hex)
             for param, slot in zip(params, slots, strict=True)]
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, bound)
        return [tuple(row) for row in cursor.fetchall()]


_models: dict[str, type[Model]] = {}

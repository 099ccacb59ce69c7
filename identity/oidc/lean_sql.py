"""Hand-written SQL for the lean token paths: statements built once per database from the models'
own tables and columns, rows turned into model instances as the ORM would (Model.from_db).

Building a statement costs the ORM several times what running it costs on the token paths; these
statements never change shape, so they are written once and run with each request's values.
"""

import functools

from django.db import connections
from django.db.models import Model


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

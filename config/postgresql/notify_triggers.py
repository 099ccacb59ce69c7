"""The trigger that makes one more table notify `gatehouse_clients_changed` (config/postgresql/client_rows.py), for
the migrations that add a table to the client-rows copy after identity/migrations/0007 made the channel's
function and the first triggers. Nothing on other databases."""

from django.db import migrations

FUNCTION = "gatehouse_notify_clients_changed"  # created by identity/migrations/0007


def notifying(table: str) -> migrations.RunPython:
    """The migration operation that makes `table` notify on every committed change (and its reverse)."""
    trigger = f"gatehouse_notify_{table}"

    def create(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}" '
                                  f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()")

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'DROP TRIGGER IF EXISTS {trigger} ON "{table}"')

    return migrations.RunPython(create, drop)

"""The password policy's table notifies `gatehouse_clients_changed` too: every sign-in reads the policy of the
person's org (whether their password is too old), and that read is kept in each process's copy of client
rows (config/postgresql/client_rows.py), emptied when a policy change commits. Nothing on other databases."""

from django.db import migrations

FUNCTION = "gatehouse_notify_clients_changed"  # created by 0007
TABLE = "identity_passwordpolicy"
TRIGGER = f"gatehouse_notify_{TABLE}"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f'CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{TABLE}" '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP TRIGGER IF EXISTS {TRIGGER} ON "{TABLE}"')


class Migration(migrations.Migration):

    dependencies = [
        ("identity", "0008_notify_logo_changes"),
    ]

    operations = [migrations.RunPython(create, drop)]

"""The org logo's table notifies `gatehouse_clients_changed` too: the hosted pages' branding read, kept in
each process's copy of client rows (config/postgresql/client_rows.py), joins it. Nothing on other databases."""

from django.db import migrations

FUNCTION = "gatehouse_notify_clients_changed"  # created by 0007
TABLE = "orgs_orglogo"
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
        ("identity", "0007_notify_client_changes"),
        ("orgs", "0009_organization_api_keys_require_allowlist"),
    ]

    operations = [migrations.RunPython(create, drop)]

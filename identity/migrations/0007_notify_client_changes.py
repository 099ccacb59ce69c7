"""PostgreSQL tells every Gatehouse process when a table the lean client-credentials path reads has changed.

A statement-level trigger on each table the lean path's SELECT reads (identity/oidc/lean_api_token.py) sends a
notification on the channel `gatehouse_clients_changed` when the transaction that changed it commits; each
process's copy of those rows (config/postgresql/notified_cache.py) is emptied when it hears one. Nothing on
other databases: there the lean path reads the database on every request.
"""

from django.db import migrations

CHANNEL = "gatehouse_clients_changed"
FUNCTION = "gatehouse_notify_clients_changed"
TABLES = ("applications_application", "applications_application_api_scopes", "applications_apiscope",
          "applications_api", "orgs_organization", "identity_signingkey")


def trigger_name(table: str) -> str:
    return f"gatehouse_notify_{table}"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    for table in TABLES:
        schema_editor.execute(
            f'CREATE TRIGGER {trigger_name(table)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}" '
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f'DROP TRIGGER IF EXISTS {trigger_name(table)} ON "{table}"')
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):

    dependencies = [
        ("identity", "0006_session_key_email_verification"),
        ("applications", "0008_apikey_platform_keys"),
        ("orgs", "0009_organization_api_keys_require_allowlist"),
    ]

    operations = [migrations.RunPython(create, drop)]

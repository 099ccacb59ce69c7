"""The org logo's table notifies `gatehouse_clients_changed` too: the hosted pages' branding read, kept in
each process's copy of client rows (config/postgresql/client_rows.py), joins it. Nothing on other databases."""

from django.db import migrations

from config.postgresql.notify_triggers import notifying


class Migration(migrations.Migration):

    dependencies = [
        ("identity", "0007_notify_client_changes"),
        ("orgs", "0009_organization_api_keys_require_allowlist"),
    ]

    operations = [notifying("orgs_orglogo")]

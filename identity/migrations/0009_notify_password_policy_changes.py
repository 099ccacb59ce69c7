"""The password policy's table notifies `gatehouse_clients_changed` too: every sign-in reads the policy of the
person's org (whether their password is too old), and that read is kept in each process's copy of client
rows (config/postgresql/client_rows.py), emptied when a policy change commits. Nothing on other databases."""

from django.db import migrations

from config.postgresql.notify_triggers import notifying


class Migration(migrations.Migration):

    dependencies = [
        ("identity", "0008_notify_logo_changes"),
    ]

    operations = [notifying("identity_passwordpolicy")]

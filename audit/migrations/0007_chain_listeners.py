"""Chain heads say how many listeners (webhook endpoints) want their new events.

SQLite rebuilds a table to add a column, which it refuses while a trigger names the table: the head
trigger of 0006 steps aside for the change.
"""

from django.db import migrations, models

# As in 0006.
HEAD_SQLITE = """
CREATE TRIGGER IF NOT EXISTS audit_chain_head AFTER INSERT ON audit_auditevent FOR EACH ROW BEGIN
    UPDATE audit_auditchain SET hash = NEW.hash WHERE chain = NEW.chain AND seq = NEW.seq;
END
"""
HEAD_SQLITE_DROP = "DROP TRIGGER IF EXISTS audit_chain_head"


def drop_sqlite_head_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(HEAD_SQLITE_DROP, params=None)


def create_sqlite_head_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(HEAD_SQLITE, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0006_audit_triggers"),
    ]

    operations = [
        migrations.RunPython(drop_sqlite_head_trigger, create_sqlite_head_trigger, elidable=False),
        migrations.AddField(
            model_name="auditchain",
            name="listeners",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(create_sqlite_head_trigger, drop_sqlite_head_trigger, elidable=False),
    ]

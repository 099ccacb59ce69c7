"""Indexes for the audit log's filters at 1,000,000 events in one org: IP, target, actor.

The actor and target-label filters are prefix searches (`istartswith`), which PostgreSQL runs as
`UPPER(col::text) LIKE UPPER('abc%')`; only an index on that expression with text_pattern_ops serves
LIKE under any collation. That is PostgreSQL syntax, so those two are created on PostgreSQL only and
kept out of the model state.
"""

from django.db import migrations, models

PATTERN_INDEXES = {
    "audit_org_actor_prefix": "audit_auditevent (org_id, UPPER(actor_label::text) text_pattern_ops)",
    "audit_org_target_prefix": "audit_auditevent (org_id, UPPER(target_label::text) text_pattern_ops)",
}


def create_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, target in PATTERN_INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in PATTERN_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0003_org_action_time_index"),
    ]

    operations = [
        # One org's events from one address (or about one target id), already newest first.
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["org", "ip", "-created_at"], name="audit_org_ip_time"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["org", "target_id", "-created_at"], name="audit_org_target_time"),
        ),
        migrations.RunPython(create_pattern_indexes, drop_pattern_indexes, elidable=False),
    ]

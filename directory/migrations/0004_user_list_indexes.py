"""Indexes for the console's users list at 100,000 members: its sorts and its prefix search.

The prefix search (`istartswith`) is `UPPER(col::text) LIKE UPPER('abc%')` on PostgreSQL; only an
index on that expression with text_pattern_ops serves LIKE under any collation. Such an index is
PostgreSQL syntax, so it is created on PostgreSQL only and kept out of the model state (SQLite has no
operator classes, and its LIKE does not use indexes this way).
"""

from django.db import migrations, models

PATTERN_INDEXES = {
    "user_email_upper_prefix": "directory_user (UPPER(email::text) text_pattern_ops)",
    "user_name_upper_prefix": "directory_user (UPPER(full_name::text) text_pattern_ops)",
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
        ("directory", "0003_userimport"),
    ]

    operations = [
        # The list's "email" and "name" sorts: an index walk finds the first 51 members in order, and a
        # keyset cursor seeks into the middle, instead of sorting the whole org on every page.
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["email"], name="user_email_order"),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["full_name"], name="user_full_name_order"),
        ),
        migrations.RunPython(create_pattern_indexes, drop_pattern_indexes, elidable=False),
    ]

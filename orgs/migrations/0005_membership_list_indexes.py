"""Indexes for the console's users list at 100,000 members: its "created" sort and its filters."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("orgs", "0004_branding_lockout_employee_id"),
    ]

    operations = [
        # One org's members newest first, ties by id: the "created" sort and its keyset cursor.
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(fields=["org", "-created_at", "-id"], name="membership_org_created"),
        ),
        # The role and status filters: a rare value (the 40 admins of 100,000 members) is found by
        # the index rather than by reading every membership of every org.
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(fields=["org", "role"], name="membership_org_role"),
        ),
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(fields=["org", "status"], name="membership_org_status"),
        ),
    ]

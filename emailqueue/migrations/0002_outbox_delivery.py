# Outbox delivery: a fixed Message-ID per row, claim and dispatch times, a cancelled state.

import uuid

from django.db import migrations, models


def fill_message_ids(apps, schema_editor):
    OutboundEmail = apps.get_model("emailqueue", "OutboundEmail")
    for email in OutboundEmail.objects.filter(message_id__isnull=True).only("pk").iterator():
        OutboundEmail.objects.filter(pk=email.pk).update(message_id=f"<{uuid.uuid4().hex}@gatehouse.invalid>")


class Migration(migrations.Migration):

    dependencies = [
        ('emailqueue', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboundemail',
            name='claimed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='outboundemail',
            name='dispatched_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='outboundemail',
            name='template',
            field=models.CharField(blank=True, max_length=100),
        ),
        # Nullable first so rows written before this migration get one each, then unique.
        migrations.AddField(
            model_name='outboundemail',
            name='message_id',
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.RunPython(fill_message_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='outboundemail',
            name='message_id',
            field=models.CharField(max_length=255, unique=True),
        ),
        migrations.AlterField(
            model_name='outboundemail',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('dead', 'Dead'), ('cancelled', 'Cancelled')], db_index=True, default='pending', max_length=16),
        ),
        migrations.AddIndex(
            model_name='outboundemail',
            index=models.Index(fields=['status', 'next_attempt_at'], name='outbox_status_due'),
        ),
        migrations.AddIndex(
            model_name='outboundemail',
            index=models.Index(fields=['org', 'status', '-id'], name='outbox_org_status'),
        ),
    ]

"""Hash-chain the audit log: each org's events (and the platform's) get seq, prev_hash and hash.

Events already written are chained in id order, the order they were written in; each chain's head
row (AuditChain) records where it ends. audit/chain.py defines the hash; the canonical form is
versioned there, so rows chained here keep verifying if it ever changes.
"""

from django.db import migrations, models

from audit.chain import GENESIS, PLATFORM_CHAIN, chain_for, event_hash

BATCH = 2000


def chain_existing(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChain = apps.get_model("audit", "AuditChain")
    db = schema_editor.connection.alias
    heads: dict[int, tuple[int, str]] = {}
    batch = []

    def flush():
        AuditEvent.objects.using(db).bulk_update(batch, ["chain", "seq", "prev_hash", "hash"])
        batch.clear()

    for event in AuditEvent.objects.using(db).order_by("id").iterator(chunk_size=BATCH):
        event.chain = chain_for(event.org_id)
        seq, prev_hash = heads.get(event.chain, (0, GENESIS))
        event.seq, event.prev_hash = seq + 1, prev_hash
        event.hash = event_hash(event)
        heads[event.chain] = (event.seq, event.hash)
        batch.append(event)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    # The platform's head exists from the start, so its first event costs no more than any other.
    heads.setdefault(PLATFORM_CHAIN, (0, GENESIS))
    AuditChain.objects.using(db).bulk_create(
        [AuditChain(chain=chain, seq=seq, hash=head) for chain, (seq, head) in heads.items()])


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0004_audit_filter_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChain",
            fields=[
                ("chain", models.BigIntegerField(primary_key=True, serialize=False)),
                ("seq", models.PositiveBigIntegerField(default=0)),
                ("hash", models.CharField(blank=True, default="", max_length=64)),
            ],
        ),
        migrations.AddField(model_name="auditevent", name="chain", field=models.BigIntegerField(default=0)),
        migrations.AddField(model_name="auditevent", name="hash", field=models.CharField(blank=True, max_length=64)),
        migrations.AddField(model_name="auditevent", name="prev_hash",
                            field=models.CharField(blank=True, max_length=64)),
        migrations.AddField(model_name="auditevent", name="seq", field=models.PositiveBigIntegerField(default=0)),
        migrations.RunPython(chain_existing, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("chain", "seq"), name="audit_chain_seq_unique"),
        ),
    ]

"""Two triggers on audit events: the chain head's hash follows each INSERT; PostgreSQL refuses UPDATE and DELETE.

The head trigger (PostgreSQL and SQLite) copies the hash of the event that ends a chain into its head
row (AuditChain) as part of the INSERT, so linking an event costs a writer one statement (the UPDATE
that reserves its seq, audit/models.py), not two.

On PostgreSQL, the database itself refuses to change or delete audit events.

A trigger refuses every UPDATE and DELETE of audit_auditevent unless the transaction has set
`gatehouse.audit_purge` to 'on' (`SET LOCAL`, which only the retention purge does), with one
exception: setting `actor_id` or `org_id` to NULL and nothing else, which is what Django does when
the user or organization an event points at is deleted (on_delete=SET_NULL). Neither column is
hashed (audit/chain.py), so the chain still holds. SQLite has no such trigger: there, the model's
refusals (AuditEvent.save, the queryset's update and delete) are the guard.

The setting is a guard against mistakes and against the application being talked into deleting
history, not against someone holding the database's owner role, who can drop the trigger.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION gatehouse_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('gatehouse.audit_purge', true), '') = 'on' AND TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE'
       AND (to_jsonb(NEW) - 'actor_id' - 'org_id') = (to_jsonb(OLD) - 'actor_id' - 'org_id')
       AND (NEW.actor_id IS NULL OR NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id)
       AND (NEW.org_id IS NULL OR NEW.org_id IS NOT DISTINCT FROM OLD.org_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused on audit_auditevent id %', TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Old events leave through the retention purge (manage.py audit_purge).';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS audit_append_only ON audit_auditevent;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION gatehouse_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS gatehouse_audit_append_only();
"""

# One UPDATE per INSERT statement (however many rows it has), through the statement's new rows.
HEAD_POSTGRESQL = """
CREATE OR REPLACE FUNCTION gatehouse_audit_chain_head() RETURNS trigger AS $$
BEGIN
    UPDATE audit_auditchain AS head SET hash = added.hash
        FROM added WHERE added.chain = head.chain AND added.seq = head.seq;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS audit_chain_head ON audit_auditevent;
CREATE TRIGGER audit_chain_head AFTER INSERT ON audit_auditevent
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_audit_chain_head();
"""
HEAD_POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS audit_chain_head ON audit_auditevent;
DROP FUNCTION IF EXISTS gatehouse_audit_chain_head();
"""
# SQLite has row triggers only: a lookup by the head's primary key per inserted row.
HEAD_SQLITE = """
CREATE TRIGGER IF NOT EXISTS audit_chain_head AFTER INSERT ON audit_auditevent FOR EACH ROW BEGIN
    UPDATE audit_auditchain SET hash = NEW.hash WHERE chain = NEW.chain AND seq = NEW.seq;
END
"""
HEAD_SQLITE_DROP = "DROP TRIGGER IF EXISTS audit_chain_head"


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)
        schema_editor.execute(HEAD_POSTGRESQL, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(HEAD_SQLITE, params=None)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(DROP, params=None)
        schema_editor.execute(HEAD_POSTGRESQL_DROP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(HEAD_SQLITE_DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0005_audit_hash_chain"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]

"""The one per-process copy of the rows that say how a client is set up, emptied when any of them changes.

Every authorization, sign-in page and token request reads the same few rows, which change only when an
admin edits something: the application with its org, the API scopes it is granted with their APIs, the
org's branding, logo and password policy, and the active signing key's kid. Triggers on their tables notify
`gatehouse_clients_changed` when a change commits (identity/migrations/0007 to 0009), and this copy
(config/postgresql/notified_cache.py) forgets everything when it hears one. The lean client-credentials
path and the CompiledQuery reads made with `cache=client_rows` (config/compiled_queries.py) keep their rows
here. Nothing outside these tables may be kept in it: no change elsewhere would empty it.

Table names are written out, as the migrations that create the triggers write them, so that this bottom
layer imports no model.
"""

from config.postgresql.notified_cache import NotifiedCache

CHANNEL = "gatehouse_clients_changed"
TABLES = ("applications_application", "applications_application_api_scopes", "applications_apiscope",
          "applications_api", "orgs_organization", "identity_signingkey", "orgs_orglogo", "identity_passwordpolicy")

client_rows = NotifiedCache(CHANNEL, triggers=frozenset(f"gatehouse_notify_{table}" for table in TABLES))

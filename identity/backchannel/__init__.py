"""OIDC Back-Channel Logout 1.0: a signed logout token POSTed to each app a session was used in, through an outbox."""

"""Passkeys (WebAuthn, with py_webauthn): registration, passwordless sign-in and the second factor."""

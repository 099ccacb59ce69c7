"""Second factors that are not passkeys: authenticator apps (TOTP) and recovery codes, the second-factor
sign-in step, the org MFA policy and step-up for sensitive actions."""

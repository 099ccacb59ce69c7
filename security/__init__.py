"""Account protection shared by every process: throttles, sign-in lockout and unlock."""

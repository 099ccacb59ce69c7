"""Developer tooling that runs in CI but never in Gatehouse itself."""

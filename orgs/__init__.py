"""Organizations (the tenant), memberships and the console's org scoping."""

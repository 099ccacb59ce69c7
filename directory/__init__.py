"""Users (the global identity), groups and group membership."""

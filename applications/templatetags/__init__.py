"""Template tags for the applications console pages."""

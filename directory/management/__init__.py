"""manage.py commands for users."""

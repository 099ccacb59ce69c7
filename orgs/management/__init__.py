"""manage.py commands for organizations and the demo data."""

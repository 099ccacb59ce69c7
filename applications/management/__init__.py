"""manage.py commands for applications."""

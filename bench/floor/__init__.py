"""A stock Django project that signs in and answers the code flow: the floor bench/login_floor.py serves beside
Gatehouse (see its header and settings.py)."""

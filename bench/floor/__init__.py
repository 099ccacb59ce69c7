"""The least a Django sign-in can cost: bench/login_floor.py serves this beside Gatehouse (see its header)."""

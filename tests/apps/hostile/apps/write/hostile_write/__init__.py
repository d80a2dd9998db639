"""Hostile test app: writes outside its work dir by every route it knows, and switches the sandbox's audit hook off."""

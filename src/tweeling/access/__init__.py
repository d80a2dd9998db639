"""Identity and access: organisations and people, credentials, the policy point, the audit log."""

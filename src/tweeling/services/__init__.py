"""Services: the twin core as a principal may use it. Every call goes through the policy point
and writes security-relevant events to the audit log. The HTTP API and the CLI call these."""

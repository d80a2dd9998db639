"""Accreditation: the store's gate. A criteria framework kept as versioned data, automated
intake checks, scoring by accreditors, and the public report and trust score."""

"""seclog adapter."""

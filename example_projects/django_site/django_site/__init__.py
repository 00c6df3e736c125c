"""A small Django site showing what seclog reports."""

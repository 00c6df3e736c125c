"""A small Flask-Login app that shows what seclog_flask logs."""

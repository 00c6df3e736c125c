"""The Django scenario site (settings, urls, views, wsgi) for the hostile-world suite."""

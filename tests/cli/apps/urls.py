"""No routes: the check never serves a request."""

urlpatterns: list[object] = []

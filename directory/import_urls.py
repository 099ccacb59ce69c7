"""URL placeholder: filled in by its feature."""

urlpatterns = []

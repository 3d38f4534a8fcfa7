"""The REST API under /api/v1/ (Django REST framework): thin classes over
the same domain functions as the pages, with the same permissions."""

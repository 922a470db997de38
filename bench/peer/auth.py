import hashlib

from .models import Token


class BearerTokenMiddleware:
    """Looks the bearer token's SHA-256 up and makes its user the request's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Bearer "):
            digest = hashlib.sha256(header[7:].encode()).hexdigest()
            token = Token.objects.select_related("user").filter(digest=digest).first()
            if token is not None:
                request.user = token.user
        return self.get_response(request)

"""DOCR's production addresses, as clients hard-code them."""

API_HOST = "api.digitalocean.com"
REGISTRY_HOST = "registry.digitalocean.com"
HTTPS_PORT = 443
HTTP_PORT = 80

API_URL = f"https://{API_HOST}"
NAMES = (API_HOST, REGISTRY_HOST)


def canonical(name: str) -> str:
    """A host name as compared with these: case and a trailing dot do not count."""
    return name.lower().rstrip(".")

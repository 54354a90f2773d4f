"""Networking that is not a request handler: docrsim's certificate authority, TLS on the two
hosts, and the forward proxy that carries DOCR's production host names to them.

Nothing here knows the DO API or the registry protocol; the hosts learn only which address a
client used (``docrsim.http.addresses``), and the proxy only which of the two hosts a
connection is for.
"""


class NetworkSetupError(Exception):
    """TLS or the proxy cannot be set up as asked (an unusable CA folder, a server that cannot
    speak TLS); the message says what and where."""

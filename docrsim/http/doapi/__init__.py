"""The DO API: both registry families, one implementation.

Each operation is declared once with its operationId, method, path and scopes
(see ``operations.py``); ``register`` mounts them all on the API host.
"""

from docrsim.http.doapi import garbage, registries, repositories  # noqa: F401  (declare operations)
from docrsim.http.doapi.operations import OPERATIONS, register

__all__ = ["OPERATIONS", "register"]

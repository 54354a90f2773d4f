"""The OCI distribution error envelope, and the one mapping from domain errors to it."""

from __future__ import annotations

from flask import jsonify

from docrsim.core import errors
from docrsim.core.digests import UnsupportedDigest
from docrsim.core.uploads import RangeMismatch, UploadUnknown

STATUS = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "PAGINATION_NUMBER_INVALID": 400,
    "SIZE_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "TOOMANYREQUESTS": 429,
}


class OciError(Exception):
    def __init__(self, code: str, message: str, detail=None, *, status: int | None = None, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail
        self.status = status or STATUS[code]
        self.headers = headers or {}


def from_domain(error: errors.DomainError, *, missing: str = "NAME_UNKNOWN") -> OciError:
    """A domain error as the registry host reports it; ``missing`` names what a NotFound means."""
    if isinstance(error, UploadUnknown):
        return OciError("BLOB_UPLOAD_UNKNOWN", error.message)
    if isinstance(error, RangeMismatch):
        return OciError("BLOB_UPLOAD_INVALID", error.message, status=416,
                        headers={"Range": f"0-{max(error.size - 1, 0)}"})
    if isinstance(error, errors.DigestMismatch | UnsupportedDigest):
        return OciError("DIGEST_INVALID", error.message)
    if isinstance(error, errors.NotFound):
        return OciError(missing, error.message)
    if isinstance(error, errors.Unauthorized):
        return OciError("UNAUTHORIZED", error.message)
    if isinstance(error, errors.Forbidden | errors.LimitExceeded | errors.Conflict):
        return OciError("DENIED", error.message)
    if isinstance(error, errors.Invalid):
        return OciError("MANIFEST_INVALID" if missing == "MANIFEST_UNKNOWN" else "NAME_INVALID", error.message)
    return OciError("UNSUPPORTED", error.message, status=400)


def render(error: OciError):
    response = jsonify({"errors": [{"code": error.code, "message": error.message, "detail": error.detail}]})
    response.status_code = error.status
    response.headers.update(error.headers)
    return response

"""Domain errors. Each edge (DO API, registry host, control API) maps these to its own wire
format in one place; the core never speaks HTTP."""


class DomainError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The named registry, repository, tag, manifest, blob or run does not exist."""


class Conflict(DomainError):
    """The request clashes with current state (name taken, a GC run active...)."""


class Invalid(DomainError):
    """The request is well-formed but its values break a rule (bad name, unknown type...)."""


class BadRequest(DomainError):
    """The request cannot be parsed (bad JSON, undecodable page token...)."""


class UnsupportedMediaType(DomainError):
    """A body in a format the endpoint does not read (it names the ones it does)."""


class PreconditionFailed(DomainError):
    """The account is not in a state that allows this (tier limits, several registries...)."""


class Forbidden(DomainError):
    """The caller's credentials lack the scope this operation needs."""


class Unauthorized(DomainError):
    """No credentials, or credentials docrsim does not know."""


class DigestMismatch(Invalid):
    """Content does not hash to the digest it was declared with."""


class LimitExceeded(DomainError):
    """A tier limit refuses new content (repository count, storage without overage)."""


# -- documents with problems (scenario files, saved states) ------------------------------------
def document_path(parts) -> str:
    """Where in a JSON document, as people write it: ``registries[0].repositories[2].name``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class DocumentProblems(Invalid):
    """A document that cannot be used; ``problems`` are lines of ``<path>: <what is wrong>``.
    The message names the first and counts the rest."""

    def __init__(self, problems: list[str], prefix: str = ""):
        self.problems = problems
        self.prefix = prefix
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        super().__init__(prefix + problems[0] + more)

    def lines(self) -> list[str]:
        """Every problem on a line of its own, each with the prefix (a file name, say)."""
        return [self.prefix + problem for problem in self.problems]


class DocumentProblem(Exception):
    """One thing wrong at one place in a document, found while building from it."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}" if where else message)

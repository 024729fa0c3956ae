"""The registry wing's exceptions: what a registry request, a publish or a pull raises when it fails.

They live apart from the modules that raise them so that every module of the wing can raise them without
importing another (``client``, ``auth``, ``pull`` and ``publishing`` all do).
"""

from __future__ import annotations

from ..errors import SeedRunnerError

__all__ = ["RegistryError", "RegistryUnavailableError", "RegistryAuthError", "RegistryNotFoundError",
           "PublishError", "TagExistsError"]


class RegistryError(SeedRunnerError):
    """The registry refused or failed a request (exit status 1 in the CLI)."""


class RegistryUnavailableError(RegistryError):
    """The registry does not answer, or answers with a server error (exit status 4 in the CLI)."""


class RegistryAuthError(RegistryError):
    """Credentials are missing or were rejected (401/403)."""


class RegistryNotFoundError(RegistryError):
    """A repository, tag or blob the registry does not have (404)."""


class PublishError(SeedRunnerError):
    """Publishing or pulling was refused or failed (exit status 1 in the CLI)."""


class TagExistsError(PublishError):
    """The registry already has the tag and neither ``force`` nor a bump was asked for."""

"""The one exception tree of ``scoping``.

Every error the library raises on purpose is a :class:`ScopingError`. The CLI turns any
``ScopingError`` into a one-line message on standard error and exit status 1; anything else is a
bug and keeps its traceback.

::

    ScopingError                 base class; ``str(err)`` is the whole user-facing message
    ├── UsageError               a wrong option, name or value given by the user
    │   └── DecidedElsewhereError    another session of the same reviewer decided the work meanwhile
    ├── ReviewFolderError        not a review folder, or a folder that already exists
    ├── ConfigError              strategy.toml / protocol.toml cannot be read or is invalid
    ├── InputFileError           an input file cannot be imported (names the file, line/record)
    │   ├── EncodingError        bytes that are not in the expected text encoding
    │   ├── FormatError          unknown format, or a file that does not parse as its format
    │   │   └── TruncatedFileError   the file ends inside its last record (records before it are whole)
    │   └── DuplicateImportError the same file content was imported before
    ├── StoreError               the record store cannot be opened or used
    │   └── SchemaVersionError   a database written by a newer scoping, or not by scoping at all
    └── NetworkError             an API could not be reached or kept failing (search stage)

Messages say what is wrong and what to do next, in one line.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DecidedElsewhereError",
    "DuplicateImportError",
    "EncodingError",
    "FormatError",
    "InputFileError",
    "NetworkError",
    "ReviewFolderError",
    "SchemaVersionError",
    "ScopingError",
    "StoreError",
    "TruncatedFileError",
    "UsageError",
]


class ScopingError(Exception):
    """Base class of every error ``scoping`` raises for a user to read."""


class UsageError(ScopingError):
    """A wrong option, name or value given by the user."""


class DecidedElsewhereError(UsageError):
    """Another session of the same reviewer (a second window) decided the work, or withdrew
    the decision, after this one showed it; nothing was stored.

    ``work_id`` is the work; ``current`` is the reviewer's decision on it now ("include",
    "exclude (wrong design)"...), or ``None`` when there is none (it was withdrawn).
    """

    def __init__(self, work_id: int, current: str | None, current_id: int | None = None) -> None:
        self.work_id = work_id
        self.current = current
        self.current_id = current_id
        """The stored row of the current decision (``None`` with ``current``)."""
        now = f"it is now {current}" if current is not None else "it has no decision now"
        super().__init__(
            f"work {work_id} was changed in another session of yours since it was shown ({now}); "
            "nothing was saved"
        )

    def __reduce__(self) -> tuple[type[DecidedElsewhereError], tuple[int, str | None, int | None]]:
        return (type(self), (self.work_id, self.current, self.current_id))


class ReviewFolderError(ScopingError):
    """Not a review folder, or one that cannot be created."""


class ConfigError(ScopingError):
    """A configuration file (strategy.toml, protocol.toml) is missing or invalid."""


class InputFileError(ScopingError):
    """An input file cannot be imported.

    ``path`` is the file; ``where`` (optional) is a line or record number, already rendered in
    the message.
    """

    def __init__(self, path: str, problem: str, hint: str = "", where: str = "") -> None:
        self.path = path
        self.problem = problem
        self.hint = hint
        self.where = where
        location = f"{path}, {where}" if where else path
        message = f"{location}: {problem}"
        if hint:
            message += f"; {hint}"
        super().__init__(message)

    def __reduce__(self) -> tuple[type[InputFileError], tuple[str, str, str, str]]:
        # errors raised in a background reader process travel back to the importer pickled
        return (type(self), (self.path, self.problem, self.hint, self.where))


class EncodingError(InputFileError):
    """The file's bytes are not in the text encoding it was read with."""


class FormatError(InputFileError):
    """The format is unknown, or the file does not parse as its format."""


class TruncatedFileError(FormatError):
    """The file ends inside its last record (a download or export cut short); the records
    before that one are complete (``scoping import --skip-incomplete`` keeps them)."""


class DuplicateImportError(InputFileError):
    """The same file content was imported before."""


class StoreError(ScopingError):
    """The record store cannot be opened or used."""


class SchemaVersionError(StoreError):
    """The database was written by a newer ``scoping``, or is not a ``scoping`` database."""


class NetworkError(ScopingError):
    """A bibliographic API could not be reached, or kept failing after retries."""

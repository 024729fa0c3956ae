"""Streaming job output: masking secrets as bytes flow past, without holding the log in memory.

A secret may be split across two chunks, so the masker keeps back the last ``len(longest secret) - 1``
bytes of each chunk until the next one arrives (or the stream ends). Bytes are never decoded: output
that is not UTF-8 is kept exactly. A secret is masked in each of its forms (as it is, and escaped as JSON
or Python would write it: ``seed_runner.runtime.masking``).
"""

from __future__ import annotations

import errno
from typing import BinaryIO, Iterable, Sequence

from .masking import MASK_BYTES as MASK, SecretMask


class SecretMasker:
    """Replace every occurrence of any secret in a byte stream fed in arbitrary chunks."""

    def __init__(self, secrets: Iterable[str]):
        self._secrets = SecretMask(secrets).byte_forms  # longest first
        self._keep = max((len(s) for s in self._secrets), default=1) - 1
        self._pending = b""

    def _mask(self, data: bytes) -> bytes:
        for secret in self._secrets:
            data = data.replace(secret, MASK)
        return data

    def feed(self, chunk: bytes) -> bytes:
        """Masked bytes that are safe to write now."""
        if not self._secrets:
            return chunk
        data = self._pending + chunk
        # Mask what is complete, then hold back a tail that could be the start of a secret.
        if len(data) <= self._keep:
            self._pending = data
            return b""
        cut = len(data) - self._keep
        # A secret that straddles the cut must stay whole on one side: move the cut back to its start,
        # until no secret straddles it (moving it can make another occurrence straddle).
        moved = True
        while moved:
            moved = False
            for secret in self._secrets:
                start = data.find(secret, max(0, cut - len(secret) + 1))
                if start != -1 and start < cut < start + len(secret):
                    cut, moved = start, True
        head, tail = data[:cut], data[cut:]
        self._pending = tail
        return self._mask(head)

    def flush(self) -> bytes:
        data, self._pending = self._pending, b""
        return self._mask(data)


class LogSink:
    """One output stream of a job: masked, appended to a file, and optionally echoed (a terminal, a pipe).

    A sink never raises, so that a failing sink cannot stop the job's output from being read (the engine would
    then block the job's writes). The file is the record: one that fails (a full disk, an I/O error) is given
    up at its first error, ``failure`` says why and ``bytes_written`` how much of the output it holds; it is
    closed then, so that the caller's own ``close`` does not raise the error again. An echo that fails (a
    closed pipe: ``seed run ... | head -1``) is dropped at its first error (``echo_failure``); the file keeps
    getting every byte.
    """

    def __init__(self, file: BinaryIO, secrets: Sequence[str], echo: BinaryIO | None = None):
        self._file = file
        self.echo = echo
        self._masker = SecretMasker(secrets)
        self.bytes_written = 0
        self.failure: str | None = None
        self.echo_failure: str | None = None

    @property
    def name(self) -> str:
        """The file's name (its path, for a file the runner opened)."""
        name = getattr(self._file, "name", None)
        return name if isinstance(name, str) else "the log file"

    def write(self, chunk: bytes) -> None:
        self._emit(self._masker.feed(chunk))

    def close(self) -> None:
        self._emit(self._masker.flush())
        if self.failure is None:
            try:
                self._file.flush()
            except Exception as exc:  # noqa: BLE001 - a sink never raises: see the class
                self._give_up(exc)
        if self.echo is not None:
            try:
                self.echo.flush()
            except Exception as exc:  # noqa: BLE001
                self._drop_echo(exc)

    def _emit(self, data: bytes) -> None:
        if not data:
            return
        if self.failure is None:
            try:
                write_all(self._file, data)
            except Exception as exc:  # noqa: BLE001 - OSError (a full disk), ValueError (a closed file), ...
                self._give_up(exc)
            else:
                self.bytes_written += len(data)
        if self.echo is not None:
            try:
                write_all(self.echo, data)
                self.echo.flush()
            except Exception as exc:  # noqa: BLE001 - BrokenPipeError, ValueError (closed), ...
                self._drop_echo(exc)

    def _give_up(self, exc: BaseException) -> None:
        self.failure = describe(exc)
        try:
            self._file.close()  # a buffered file still holds what it could not write: its close would fail again
        except Exception:  # noqa: BLE001 - the same error once more; the file is closed all the same
            pass

    def _drop_echo(self, exc: BaseException) -> None:
        self.echo, self.echo_failure = None, describe(exc)


def write_all(stream: BinaryIO, data: bytes) -> None:
    """Write all of ``data``: a raw stream may take part of it (its ``write`` says how much)."""
    while data:
        taken = stream.write(data)
        if not isinstance(taken, int) or taken >= len(data):  # None: a stream that does not say
            return
        if taken <= 0:
            raise OSError(errno.EAGAIN, "the stream took no bytes")
        data = data[taken:]


def describe(exc: BaseException) -> str:
    """An error in a few words: ``No space left on device``, ``ValueError: write to closed file``."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

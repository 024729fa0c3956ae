"""Streaming job output: masking secrets as bytes flow past, without holding the log in memory.

A secret may be split across two chunks, so the masker keeps back the last ``len(longest secret) - 1``
bytes of each chunk until the next one arrives (or the stream ends). Bytes are never decoded: output
that is not UTF-8 is kept exactly. A secret is masked in each of its forms (as it is, and escaped as JSON
or Python would write it: ``seed_runner.runtime.masking``).
"""

from __future__ import annotations

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
    """One output stream of a job: masked, appended to a file, and optionally echoed to a terminal."""

    def __init__(self, file: BinaryIO, secrets: Sequence[str], echo: BinaryIO | None = None):
        self._file = file
        self._echo = echo
        self._masker = SecretMasker(secrets)
        self.bytes_written = 0

    def write(self, chunk: bytes) -> None:
        self._emit(self._masker.feed(chunk))

    def close(self) -> None:
        self._emit(self._masker.flush())
        self._file.flush()
        if self._echo is not None:
            self._echo.flush()

    def _emit(self, data: bytes) -> None:
        if not data:
            return
        self._file.write(data)
        self.bytes_written += len(data)
        if self._echo is not None:
            self._echo.write(data)
            self._echo.flush()

"""Secret masking of streamed output: whatever the chunking, no secret (or part of one split by a chunk
boundary) gets through, and every other byte is kept."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from seed_runner.runtime.logstream import LogSink, SecretMasker

SECRETS = ["hunter2", "abc", "s3cr3t-value-xyz", "aa"]
PIECES = st.sampled_from(["x", "hunter", "2", "hunter2", "a", "ab", "c", "abc", "s3cr3t-", "value-xyz", "\n",
                          "\xff", "aa", "aaa"])


def whole_text_mask(data: bytes) -> bytes:
    for secret in sorted(SECRETS, key=len, reverse=True):
        data = data.replace(secret.encode(), b"****")
    return data


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(PIECES, max_size=40), st.lists(st.integers(1, 9), min_size=1, max_size=40))
def test_chunked_masking_equals_masking_the_whole_text(pieces: list[str], cuts: list[int]) -> None:
    data = "".join(pieces).encode("latin-1")
    masker = SecretMasker(SECRETS)
    out, i, k = b"", 0, 0
    while i < len(data):
        n = cuts[k % len(cuts)]
        out += masker.feed(data[i:i + n])
        i, k = i + n, k + 1
    out += masker.flush()
    assert out == whole_text_mask(data)
    for secret in SECRETS:
        assert secret.encode() not in out


def test_no_secrets_is_a_pass_through() -> None:
    masker = SecretMasker([])
    assert masker.feed(b"\xff\x00abc") == b"\xff\x00abc" and masker.flush() == b""


def test_a_sink_writes_the_file_and_the_echo_alike() -> None:
    file, echo = io.BytesIO(), io.BytesIO()
    sink = LogSink(file, ["pa55word"], echo)
    for chunk in (b"user=me pa5", b"5word=", b"pa55word\n\xfe"):
        sink.write(chunk)
    sink.close()
    assert file.getvalue() == echo.getvalue() == b"user=me ****=****\n\xfe"
    assert sink.bytes_written == len(file.getvalue())

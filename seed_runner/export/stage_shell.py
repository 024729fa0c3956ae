"""Shell for the Kubernetes init container: the ``INPUT_METADATA`` records of a claim's folder, whose files are
only known when the pod starts. Pure: text in, text out.

The records match ``seed run``'s: ``file_name``, ``path``, ``media_type`` (guessed from the last extension with
the table the CWL export uses, the runner's own) and ``file_size``; a ``"`` or ``\\`` in a file name is escaped
for JSON (a control character in a file name is not: such a file breaks the document).
"""

from __future__ import annotations

import shlex

__all__ = ["claim_folder_records", "MEDIA_TYPE_FUNCTION"]


def _media_type_function() -> str:
    from .cwl import _media_type_table

    table = _media_type_table()

    def arms(mapping: dict[str, str]) -> str:
        by_type: dict[str, list[str]] = {}
        for ext, kind in mapping.items():
            by_type.setdefault(kind, []).append(shlex.quote(ext))
        return " ".join(f"{'|'.join(exts)}) t={shlex.quote(kind)};;" for kind, exts in by_type.items())

    # compression first (it wins, as in seed run), then the exact extension, then the lower-cased one
    return ("seed_type() { e=''; case \"$1\" in *.*) e=\".${1##*.}\";; esac; t=''; "
            f"case \"$e\" in {arms(table['enc'])} *) ;; esac; [ -n \"$t\" ] && return 0; "
            f"case \"$e\" in {arms(table['types'])} *) ;; esac; [ -n \"$t\" ] && return 0; "
            "e=$(printf '%s' \"$e\" | tr 'A-Z' 'a-z'); "
            f"case \"$e\" in {arms(table['types'])} *) t=application/octet-stream;; esac; }}")


MEDIA_TYPE_FUNCTION = _media_type_function()


def claim_folder_records(folder: str) -> str:
    """Shell printing the comma-separated JSON records of the files in ``folder`` (a safe, generated path)."""
    return (f"sep=''; for f in {folder}/*; do [ -f \"$f\" ] || continue; b=${{f##*/}}; "
            "j=$(printf '%s' \"$b\" | sed 's/[\\\\\"]/\\\\&/g'); seed_type \"$b\"; "
            "printf '%s{\"file_name\":\"%s\",\"path\":\"%s\",\"media_type\":\"%s\",\"file_size\":%s}' "
            f"\"$sep\" \"$j\" \"{folder}/$j\" \"$t\" \"$(wc -c < \"$f\")\"; sep=','; done")

"""A step's ``when``/``unless`` as JavaScript a CWL engine evaluates: Scale's data filters (``pipelines.filters``),
ported to the values a CWL workflow carries.

A filter on a JSON value is exported whole (every condition, ``fields`` of an object). A filter on files is
exported for ``filename`` (a file's basename) and ``media-type``: a step's output has the type ``seed run``
records, its manifest's ``mediaType`` (the File's IANA ``format``) or else the type guessed from its name with
the runner's table; a pipeline input has none under ``seed pipeline run``, so none here either. ``data-type``
and ``meta-data`` test what a CWL ``File`` does not carry (data-type tags, side-car metadata), so the export
refuses them (``UnsupportedPipeline``) instead of guessing.

Pure: a condition in, a JSON spec the gate's expression reads out; ``FILTERS_LIB`` is the evaluator.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from ..pipelines.model import Condition, Connection


class UnsupportedPipeline(ValueError):
    """The pipeline uses what a CWL Workflow cannot express; ``str(exc)`` is one line."""


EXPORTED_FILE_FILTERS = frozenset({"filename", "media-type"})


def condition_spec(step: str, condition: Condition, reference: Callable[[Connection], int]) -> dict[str, Any]:
    """The JSON the gate evaluates: ``reference(connection)`` names the gate input carrying each value."""
    word = "when" if condition.accept_when else "unless"
    filters = []
    for item in condition.filters:
        if item.type in ("data-type", "meta-data"):
            raise UnsupportedPipeline(f"step {step!r}: its {word} filter on {item.name.text} has type {item.type}, "
                                      "which a CWL File does not carry; only filename, media-type and JSON "
                                      "filters export")
        for connection in item.connections():
            if connection.kind == "item":
                raise UnsupportedPipeline(f"step {step!r}: its {word} condition reads `item`, which a CWL `when` "
                                          "of the whole step cannot see")
        values = [{"ref": reference(v)} if isinstance(v, Connection) else {"lit": v} for v in item.values]
        filters.append({"name": reference(item.name), "type": item.type, "condition": item.condition,
                        "values": values, "fields": [list(f) for f in item.fields],
                        "allFields": item.all_fields, "allFiles": item.all_files,
                        "fromStep": item.name.kind == "output"})
    return {"filters": filters, "all": condition.all, "accept": condition.accept_when}


def uses_media_types(conditions: list[dict[str, Any]]) -> bool:
    return any(f["type"] == "media-type" for c in conditions for f in c["filters"])


def media_type_lib() -> str:
    """``seedGuessMediaType(name)``: the runner's guess from a file name (the table INPUT_METADATA uses)."""
    from .cwl import _media_type_table

    return "\n".join([
        f"var seedGuessTable = {json.dumps(_media_type_table(), separators=(',', ':'))};",
        "function seedGuessMediaType(file) {",
        "  var dot = file.lastIndexOf(\".\"), ext = dot < 0 ? \"\" : file.slice(dot), t = seedGuessTable;",
        "  if (t.enc.hasOwnProperty(ext)) { return t.enc[ext]; }",
        "  if (t.types.hasOwnProperty(ext)) { return t.types[ext]; }",
        "  ext = ext.toLowerCase();",
        "  return t.types.hasOwnProperty(ext) ? t.types[ext] : \"application/octet-stream\";",
        "}",
    ])


def gate_expression(needs: list[str], conditions: list[dict[str, Any]]) -> str:
    """The gate's ``${...}``: every needed gate ran, and every condition accepts."""
    spec = json.dumps({"needs": needs, "conditions": conditions}, separators=(",", ":"))
    return "${ return {ran: seedGate(" + spec + ", inputs)}; }"


# The semantics of pipelines/filters.py, line for line: a missing value or one of another type fails the
# filter, never raises; true is not 1; "in" also matches a substring of a string value or an element of a list.
FILTERS_LIB = r"""
function seedIsNum(v) { return typeof v === "number"; }
function seedSame(a, b) {
  if (typeof a === "boolean" || typeof b === "boolean") { return a === b; }
  if (seedIsNum(a) && seedIsNum(b)) { return a === b; }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every(function (x, i) { return seedSame(x, b[i]); });
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object"
      && !Array.isArray(a) && !Array.isArray(b)) {
    var ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
    return seedSame(ka, kb) && ka.every(function (k) { return seedSame(a[k], b[k]); });
  }
  return typeof a === typeof b && a === b;
}
function seedCompare(op) {
  return function (v, vals) {
    if (!vals.length) { return false; }
    var o = vals[0];
    if ((seedIsNum(v) && seedIsNum(o)) || (typeof v === "string" && typeof o === "string")) { return op(v, o); }
    return false;
  };
}
function seedIn(v, vals) {
  return vals.some(function (c) {
    if (seedSame(v, c)) { return true; }
    if (typeof c === "string" && typeof v === "string" && c.indexOf(v) >= 0) { return true; }
    return Array.isArray(c) && c.some(function (x) { return seedSame(v, x); });
  });
}
function seedIsObj(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
function seedSubset(v, vals) {
  if (!vals.length) { return false; }
  var o = vals[0];
  if (seedIsObj(v) && seedIsObj(o)) {
    return Object.keys(v).every(function (k) { return o.hasOwnProperty(k) && seedSame(v[k], o[k]); });
  }
  if (Array.isArray(v) && Array.isArray(o)) {
    return v.every(function (x) { return o.some(function (y) { return seedSame(x, y); }); });
  }
  return false;
}
var seedConditions = {
  "<": seedCompare(function (a, b) { return a < b; }), "<=": seedCompare(function (a, b) { return a <= b; }),
  ">": seedCompare(function (a, b) { return a > b; }), ">=": seedCompare(function (a, b) { return a >= b; }),
  "==": function (v, vals) { return vals.length > 0 && seedSame(v, vals[0]); },
  "!=": function (v, vals) { return vals.length > 0 && !seedSame(v, vals[0]); },
  "between": function (v, vals) {
    return vals.length >= 2 && seedIsNum(v) && seedIsNum(vals[0]) && seedIsNum(vals[1])
      && vals[0] <= v && v <= vals[1];
  },
  "in": seedIn,
  "not in": function (v, vals) { return !seedIn(v, vals); },
  "contains": function (v, vals) {
    if (typeof v === "string") { return vals.some(function (x) { return typeof x === "string" && v.indexOf(x) >= 0; }); }
    if (Array.isArray(v)) { return vals.some(function (x) { return v.some(function (y) { return seedSame(x, y); }); }); }
    return false;
  },
  "subset of": seedSubset,
  "superset of": function (v, vals) { return vals.length > 0 && seedSubset(vals[0], [v]); }
};
function seedFlatFiles(v) {
  if (v === null || v === undefined) { return []; }
  if (Array.isArray(v)) { return v.reduce(function (acc, x) { return acc.concat(seedFlatFiles(x)); }, []); }
  return v["class"] === "File" ? [v] : [];
}
var seedIana = "https://www.iana.org/assignments/media-types/";
function seedFileMediaType(file, fromStep) {
  if (!fromStep) { return null; }  // seed pipeline run knows no media type of a pipeline input
  var format = file.format;
  if (typeof format === "string" && format.indexOf(seedIana) === 0) { return format.slice(seedIana.length); }
  return seedGuessMediaType(file.basename);
}
function seedAt(v, path) {
  for (var i = 0; i < path.length; i++) {
    if (!seedIsObj(v) || !v.hasOwnProperty(path[i])) { return null; }
    v = v[path[i]];
  }
  return v;
}
function seedPasses(f, inputs) {
  var value = inputs["v" + f.name];
  var vals = f.values.map(function (x) { return x.hasOwnProperty("ref") ? inputs["v" + x.ref] : x.lit; });
  var test = seedConditions[f.condition];
  if (!test || value === null || value === undefined) { return false; }
  if (f.type === "filename") {
    var files = seedFlatFiles(value);
    if (!files.length) { return false; }
    var checks = files.map(function (file) { return test(file.basename, vals); });
    return f.allFiles ? checks.every(Boolean) : checks.some(Boolean);
  }
  if (f.type === "media-type") {
    var typed = seedFlatFiles(value);
    if (!typed.length) { return false; }
    var verdicts = typed.map(function (file) { return test(seedFileMediaType(file, f.fromStep), vals); });
    return f.allFiles ? verdicts.every(Boolean) : verdicts.some(Boolean);
  }
  if (seedFlatFiles(value).length) { return false; }
  if (f.type === "object" && f.fields.length) {
    if (!seedIsObj(value) || f.fields.length !== vals.length) { return false; }
    var found = f.fields.map(function (path, i) {
      var at = seedAt(value, path), want = vals[i];
      return at !== null && test(at, Array.isArray(want) ? want : [want]);
    });
    return f.allFields ? found.every(Boolean) : found.some(Boolean);
  }
  return test(value, vals);
}
function seedGate(spec, inputs) {
  var needs = spec.needs.every(function (n) { return inputs[n] === true; });
  return needs && spec.conditions.every(function (c) {
    var verdicts = c.filters.map(function (f) { return seedPasses(f, inputs); });
    var accepted = c.all ? verdicts.every(Boolean) : verdicts.some(Boolean);
    return accepted === c.accept;
  });
}
"""

#!/bin/sh
# Conformance probe "env": the variables the executor injects and their encoding, and the command's expansion.
# Arguments, from the command "${INPUT_FILE} ${OUTPUT_DIR} ${OPTIONAL_FILE/#/--optional } ${GREETING}
# "${GREETING}" ${MODE:-plain}" with GREETING="hello  wide world" and OPTIONAL_FILE, MODE unset.
. /conformance/lib.sh

argc=$#
a1="${1-}" a2="${2-}" a3="${3-}" a4="${4-}" a5="${5-}" a6="${6-}" a7="${7-}"
arguments_ok() {
  [ "$argc" -eq 7 ] && [ "$a1" = "${INPUT_FILE-}" ] && [ -n "$a1" ] && [ "$a2" = "${OUTPUT_DIR-}" ] &&
    [ -n "$a2" ] && [ "$a3" = hello ] && [ "$a4" = wide ] && [ "$a5" = world ] &&
    [ "$a6" = 'hello  wide world' ] && [ "$a7" = plain ]
}
absolute_dir() { case "$1" in /*) [ -d "$1" ] ;; *) return 1 ;; esac; }
single_file_ok() {
  case "${INPUT_FILE-}" in /*) ;; *) return 1 ;; esac
  [ -f "$INPUT_FILE" ] && [ -r "$INPUT_FILE" ] && [ "$(cat "$INPUT_FILE")" = "conformance input" ]
}
names_in() { find "$1" -mindepth 1 -maxdepth 1 | sed 's,.*/,,' | sort | tr '\n' ' '; }
multiple_ok() {
  absolute_dir "${INPUT_FILES-}" && [ "$(names_in "$INPUT_FILES")" = "a.txt b.txt c.txt " ] &&
    [ -f "$INPUT_FILES/a.txt" ] && [ -f "$INPUT_FILES/b.txt" ] && [ -f "$INPUT_FILES/c.txt" ] &&
    [ "$(cat "$INPUT_FILES/b.txt")" = "file b" ]
}
metadata_has() { grep -q -- "$1" "$INPUT_METADATA"; }
metadata_ok() {
  [ -f "${INPUT_METADATA-}" ] && [ -r "$INPUT_METADATA" ] && metadata_has '"JOB"' &&
    metadata_has '"INPUT_FILE"' && metadata_has '"INPUT_FILES"' && metadata_has '"file_name"' &&
    metadata_has '"media_type"' && metadata_has '"file_size"' && metadata_has "\"$INPUT_FILE\"" &&
    metadata_has '"input.txt"' && metadata_has '"COUNT"' && ! metadata_has '"OPTIONAL_FILE"'
}

check env.output-dir "OUTPUT_DIR is an absolute path to a directory (${OUTPUT_DIR-unset})" absolute_dir "${OUTPUT_DIR-}"
check env.name-normalization "input retry-Count arrives as RETRY_COUNT=3" equals RETRY_COUNT 3
check env.file-input "INPUT_FILE is the absolute path of the input file, readable, with its content" single_file_ok
check env.multiple-input "INPUT_FILES is a flat directory holding exactly a.txt b.txt c.txt (got: $(names_in "${INPUT_FILES:-/nonexistent}" 2>/dev/null))" multiple_ok
check env.optional-unset "OPTIONAL_FILE (a file input not given) is unset, not empty" is_unset OPTIONAL_FILE
check env.optional-unset "MODE (a JSON input not given) is unset, not empty" is_unset MODE
check env.json-string "GREETING (string) is the raw text, without quotes (got ${GREETING-unset})" equals GREETING 'hello  wide world'
check env.json-integer "COUNT (integer) is the literal 42 (got ${COUNT-unset})" equals COUNT 42
check env.json-number "RATIO (number) is the literal 2.5 (got ${RATIO-unset})" equals RATIO 2.5
check env.json-boolean "FLAG (boolean) is the literal false (got ${FLAG-unset})" equals FLAG false
check env.json-object "OPTIONS (object) is compact JSON text (got ${OPTIONS-unset})" equals OPTIONS '{"a":"x y","b":[1,2]}'
check env.json-array "ITEMS (array) is compact JSON text (got ${ITEMS-unset})" equals ITEMS '[1,"two",null,{"k":true}]'
check env.settings "VERSION is its value (got ${VERSION-unset})" equals VERSION 1.0
check env.settings "SPECIAL is its value verbatim, never expanded by a shell" equals SPECIAL 'a=b; $HOME "q" *'
check env.secret-setting "DB_PASS (secret) is its value, spaces included" equals DB_PASS 'pr0be-s3cret value'
check env.input-metadata "INPUT_METADATA names a readable JSON file: JOB, the inputs given, file records" metadata_ok
check command.expansion "7 arguments as Bash expands the command (got $argc: $a1 | $a2 | $a3 | $a4 | $a5 | $a6 | $a7)" arguments_ok
finish

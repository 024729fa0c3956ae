"""Fixed container-side paths (DECISIONS.md "Container layout"): the same for every run and every host."""

ROOT = "/seed"
INPUTS_ROOT = "/seed/inputs"
OUTPUT_DIR = "/seed/outputs"
INPUT_METADATA_FILE = "/seed/input-metadata.json"

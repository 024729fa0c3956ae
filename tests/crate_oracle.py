"""The oracle for provenance: the same crate made with the ``rocrate`` library from the same facts.

seed-runner writes its crates itself (``seed_runner.runtime.provenance.crate_document``: importing rocrate would
cost every run about 90 ms); the tests require the two documents to be equal, so the hand-written one is as
correct as the library's.
"""

from __future__ import annotations

import json
import sys
from typing import Any

PROCESS_RUN_CRATE = "https://w3id.org/ro/wfrun/process/0.5"


def crate_text(facts: dict[str, Any]) -> str:
    """The RO-Crate 1.1 metadata of one run, made with rocrate from ``facts``."""
    from rocrate.model.contextentity import ContextEntity
    from rocrate.rocrate import ROCrate

    crate = ROCrate(version="1.1")

    def entity(identifier: str, properties: dict[str, Any]) -> Any:
        return crate.add(ContextEntity(crate, identifier, properties=properties))

    image = entity("#image", {"@type": "SoftwareApplication", **facts["image"]})
    profile = entity(PROCESS_RUN_CRATE, {"@type": "CreativeWork", "name": "Process Run Crate", "version": "0.5"})
    objects = [crate.add_file(item.pop("@id"), properties={**item}) for item in facts["input_files"]]
    objects += [entity(item.pop("@id"), {"@type": "PropertyValue", **item}) for item in facts["input_values"]]
    results = [crate.add_file(dest_path=item.pop("path"), properties={**item}) for item in facts["output_files"]]
    results += [entity(item.pop("@id"), {"@type": "PropertyValue", **item}) for item in facts["output_values"]]
    result_file = crate.add_file(dest_path="result.json", properties=facts["result_file"])
    results.append(result_file)
    action = facts["action"]
    action = crate.add_action(image, identifier=action.pop("@id"), object=objects or None, result=results,
                              properties=action)
    result_file["about"] = action
    root = crate.root_dataset
    for key, value in facts["root"].items():
        root[key] = value
    root["conformsTo"] = profile
    root["mentions"] = action
    return json.dumps(crate.metadata.generate(), indent=2, ensure_ascii=True) + "\n"

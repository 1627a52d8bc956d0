"""JSON Schemas of the mapping files, generated from the pydantic models (for editors).

``python -m converter.mapping.schema > docs/mapping.schema.json`` regenerates the committed
copy; a test keeps it, the registry and docs/mapping.md in step.
"""

from __future__ import annotations

import json

from converter.mapping.models import DomainMapping
from converter.mapping.study import StudyConfig


def mapping_schema() -> dict:
    """Schema of ``study.yaml`` and ``sdtm/<domain>.yaml`` (keys ``study`` and ``domain``)."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "cdisc-converter mapping files",
            "study": StudyConfig.model_json_schema(by_alias=True),
            "domain": DomainMapping.model_json_schema(by_alias=True)}


def schema_algorithm_names(schema: dict) -> list[str]:
    """Step algorithms, shapers and builders named by the schema."""
    dom = schema["domain"]
    steps = dom["properties"]["steps"]["items"]["discriminator"]["mapping"]
    build = dom["properties"]["build"]["anyOf"][0]["enum"]
    shapers = [k for k in ("transpose",) if k in dom["properties"]]
    return sorted([*steps, *build, *shapers])


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(mapping_schema(), indent=1, sort_keys=True))

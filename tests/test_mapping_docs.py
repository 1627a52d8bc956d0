"""docs/mapping.md, the JSON Schema and the algorithm registry list the same names."""

from __future__ import annotations

import json
import re

from converter.mapping.algorithms import BUILDERS, REGISTRY, SHAPERS, all_names
from converter.mapping.schema import mapping_schema, schema_algorithm_names


def doc_names(text: str) -> list[str]:
    text = text.split("## Algorithm catalogue", 1)[1].split("## Data issues", 1)[0]
    names = re.findall(r"^### ([a-z_]+)\s*$", text, flags=re.MULTILINE)
    built = re.search(r"^### Built domains: ([a-z, ]+)$", text, flags=re.MULTILINE)
    assert built, "docs/mapping.md must have a '### Built domains: ...' heading"
    names += [n.strip() for n in built.group(1).split(",")]
    return sorted(names)


def test_01_docs_schema_registry_identical(repo_root):
    docs = doc_names((repo_root / "docs" / "mapping.md").read_text(encoding="utf-8"))
    assert docs == all_names()
    assert schema_algorithm_names(mapping_schema()) == all_names()
    assert set(REGISTRY).isdisjoint(BUILDERS) and set(SHAPERS).isdisjoint(REGISTRY)


def test_02_committed_schema_is_current(repo_root):
    committed = json.loads((repo_root / "docs" / "mapping.schema.json").read_text())
    assert committed == json.loads(json.dumps(mapping_schema())), \
        "regenerate: python -m converter.mapping.schema > docs/mapping.schema.json"


def test_03_every_yaml_example_in_the_docs_validates(repo_root):
    """Each ```yaml block under an algorithm heading parses with the strict loader and the
    step examples validate against the step models (no stale syntax in the reference)."""
    from pydantic import TypeAdapter

    from converter.mapping.algorithms import AnyStep
    from converter.mapping.yamlsafe import loads_yaml

    text = (repo_root / "docs" / "mapping.md").read_text(encoding="utf-8")
    body = text.split("## Algorithm catalogue", 1)[1].split("## Data issues", 1)[0]
    checked = 0
    for section in re.split(r"^### ", body, flags=re.MULTILINE)[1:]:
        name = section.split()[0]
        for block in re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL):
            data, _ = loads_yaml(block, f"docs/mapping.md ({name})")
            if name in REGISTRY:
                steps = data if isinstance(data, list) else [data]
                for step in steps:
                    assert step["algorithm"] == name
                    TypeAdapter(AnyStep).validate_python(step)
                    checked += 1
    assert checked >= len(REGISTRY)

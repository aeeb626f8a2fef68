"""JSON Schema of the spec format, for editors (``archcalc schema``; ``specs/schema.json``).

Generated from the pydantic models, then widened to the *file* format: layer lists also accept
block uses (``use:``), every layer accepts ``repeat``/``first``/``when``, and numbers may be
``$`` expressions, which the loader resolves before the strict models see them.
"""

from __future__ import annotations

__all__ = ["spec_schema", "schema_json"]

import json
from typing import Any

from pydantic import TypeAdapter

from .document import SpecDocument
from .layers import Layer

_EXPR = {"type": "string", "pattern": r"\$", "description": "Arithmetic on $arguments, e.g. '4 * $mid'."}
_ENTRY_PROPS = {
    "repeat": {"anyOf": [{"type": "integer", "minimum": 1}, {"$ref": "#/$defs/Expression"}],
               "description": "Repeat this entry N times as a group with children block1..blockN."},
    "first": {"type": "object", "description": "Overrides (fields or block arguments) for the first repetition."},
    "when": {"anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/Expression"}],
             "description": "Include this entry only when true (e.g. when: $bn)."},
}
_USE = {
    "type": "object",
    "description": "Use a block defined under 'blocks:'; other keys are its arguments.",
    "properties": {"use": {"type": "string"}, "name": {"type": "string"}, **_ENTRY_PROPS},
    "required": ["use"],
    "additionalProperties": True,
}


def _widen(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _widen(v) for k, v in node.items()}
        if node.get("type") in ("integer", "number", "boolean") and "anyOf" not in node:
            return {"anyOf": [node, {"$ref": "#/$defs/Expression"}]}
        return node
    if isinstance(node, list):
        return [_widen(v) for v in node]
    return node


def spec_schema() -> dict[str, Any]:
    doc = SpecDocument.model_json_schema()
    layer = TypeAdapter(Layer).json_schema(ref_template="#/$defs/{model}")
    defs = {**doc.pop("$defs", {}), **layer.pop("$defs", {})}
    for name, model in defs.items():
        if "properties" in model and "type" in model["properties"] and name not in ("BlockDef",):
            model["properties"].update(_ENTRY_PROPS)
    defs = _widen(defs)
    defs["Expression"] = _EXPR
    defs["LayerEntry"] = {"anyOf": [_widen(layer), _USE]}
    layer_list = {"type": "array", "items": {"$ref": "#/$defs/LayerEntry"}}
    doc["properties"]["layers"] = {**layer_list, "minItems": 1, "description": "The network, in order."}
    doc["properties"]["extends"] = {"type": "string", "description": "Base spec (relative path) this one derives from."}
    defs["BlockDef"]["properties"]["layers"] = {**layer_list, "minItems": 1}
    # inside expanded models, nested layer lists are also file-level entries
    for model in defs.values():
        for key in ("layers", "body", "shortcut"):
            prop = model.get("properties", {}).get(key) if isinstance(model, dict) else None
            if isinstance(prop, dict) and prop.get("type") == "array":
                prop["items"] = {"$ref": "#/$defs/LayerEntry"}
            elif isinstance(prop, dict) and "anyOf" in prop:
                for option in prop["anyOf"]:
                    if option.get("type") == "array":
                        option["items"] = {"$ref": "#/$defs/LayerEntry"}
    doc["required"] = [r for r in doc.get("required", []) if r not in ("layers", "input", "name")]
    doc["$defs"] = defs
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "archcalc spec"
    return doc


def schema_json() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True) + "\n"

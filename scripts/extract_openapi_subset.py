"""Copy the request/response schemas of the Seller API methods we call out of Ozon's OpenAPI
document into a small JSON Schema fixture, so tests validate against Ozon's own spec without
shipping the 4 MB document.

Usage: python scripts/extract_openapi_subset.py SWAGGER_JSON > tests/fixtures/ozon_openapi_subset.json
"""
from __future__ import annotations

import json
import sys

PATHS = [
    "/v1/seller/info", "/v1/roles", "/v4/posting/fbs/list", "/v4/posting/fbs/unfulfilled/list",
    "/v3/posting/fbo/list", "/v1/analytics/data", "/v1/returns/list", "/v4/product/info/stocks",
    "/v1/analytics/stocks", "/v3/product/list", "/v3/product/info/list", "/v1/rating/summary",
    "/v1/rating/history", "/v1/rating/index/fbs/info", "/v1/rating/index/fbs/posting/list",
    "/v1/finance/accrual/by-day", "/v1/finance/balance", "/v1/finance/accrual/types", "/v1/actions",
    "/v1/actions/products", "/v1/actions/auto-add/products/list", "/v5/product/info/prices",
    "/v1/product/action/timer/status", "/v3/supply-order/list", "/v3/supply-order/get", "/v1/supply-order/bundle",
    "/v1/supply-order/act/summary/get", "/v1/supply-order/act/product/get", "/v2/posting/fbs/act/list",
]


def to_json_schema(node: object) -> object:
    """Rewrite OpenAPI 3.0 quirks (`nullable`, component refs) into plain JSON Schema."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    # Ozon's document writes `enum: null` for open enums; JSON Schema needs a list or nothing.
    dropped = {"example", "description", "nullable"} | ({"enum"} if node.get("enum") is None else set())
    # ... and uses `pattern` for format hints such as " YYYY-MM-DDThh:mm:ssZ", which are not regexes.
    if "YYYY" in str(node.get("pattern", "")):
        dropped.add("pattern")
    out = {key: to_json_schema(value) for key, value in node.items() if key not in dropped}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/definitions/")
    if out.get("type") == "int":  # Ozon's document writes `int` in a few places
        out["type"] = "integer"
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def refs(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.add(node["$ref"].rsplit("/", 1)[-1])
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def main(spec_path: str) -> None:
    spec = json.load(open(spec_path, encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    methods: dict[str, dict[str, object]] = {}
    todo: set[str] = set()
    for path in PATHS:
        op = spec["paths"][path].get("post") or spec["paths"][path]["get"]
        # Methods without a body (seller info, roles, rating summary; GET methods) accept `{}`.
        request = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get(
            "schema", {"type": "object"})
        response = op["responses"]["200"]["content"]["application/json"]["schema"]
        methods[path] = {"request": to_json_schema(request), "response": to_json_schema(response)}
        todo |= refs(request) | refs(response)
    definitions: dict[str, object] = {}
    while todo:
        name = todo.pop()
        if name in definitions:
            continue
        definitions[name] = to_json_schema(schemas[name])
        todo |= refs(schemas[name]) - definitions.keys()
    json.dump({"source": spec["info"].get("title"), "version": spec["info"].get("version"),
               "methods": methods, "definitions": definitions},
              sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])

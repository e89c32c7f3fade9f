"""Validate live responses against the app's own OpenAPI 3.1 document (JSON Schema 2020-12)."""

from __future__ import annotations

import re

from jsonschema import Draft202012Validator

PROBLEM_REQUIRED = {"type", "title", "status"}


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


class ResponseChecker:
    def __init__(self, doc: dict):
        self.doc = doc
        self.failures: list[str] = []
        self.checked = 0

    def _schema(self, path: str, method: str, status: int):
        op = self.doc["paths"].get(path, {}).get(method)
        if op is None:
            return None, f"{method.upper()} {path} is not documented"
        resp = op["responses"].get(str(status))
        if resp is None:
            return None, None
        if "$ref" in resp:
            resp = self.doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
        content = resp.get("content", {})
        if "application/json" not in content:
            return {"_non_json": sorted(content)}, None
        return content["application/json"].get("schema") or {}, None

    def check(self, rule: str, method: str, status: int, mimetype: str, body) -> None:
        if not rule.startswith("/api/v1"):
            return
        path, method = openapi_path(rule), method.lower()
        where = f"{method.upper()} {path} -> {status}"
        if status >= 400:
            ok = mimetype == "application/problem+json" and isinstance(body, dict) and set(body) >= PROBLEM_REQUIRED
            if not ok:
                self.failures.append(f"{where}: not problem+json")
            self.checked += 1
            return
        schema, missing = self._schema(path, method, status)
        if missing:
            self.failures.append(missing)
            return
        if schema is None:
            self.failures.append(f"{where}: status not documented")
            return
        if "_non_json" in schema:
            if mimetype not in schema["_non_json"]:
                self.failures.append(f"{where}: {mimetype} is not among the documented {schema['_non_json']}")
            self.checked += 1
            return
        validator = Draft202012Validator({**schema, "components": self.doc.get("components", {})})
        for err in validator.iter_errors(body):
            self.failures.append(f"{where}: {'/'.join(map(str, err.absolute_path))}: {err.message}")
        self.checked += 1

"""Validate live responses against the app's own OpenAPI 3.1 document (JSON Schema 2020-12).

Every answer must be documented for its status (successes explicitly, errors explicitly or by `default`),
in a media type the document names for it, with a body its schema admits. Errors must be RFC 9457
`application/problem+json` carrying at least type, title and status.
"""

from __future__ import annotations

import re

from jsonschema import Draft202012Validator

PROBLEM = "application/problem+json"
PROBLEM_REQUIRED = {"type", "title", "status"}


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


class ResponseChecker:
    def __init__(self, doc: dict):
        self.doc = doc
        self.failures: list[str] = []
        self.checked = 0

    def _response(self, op: dict, status: int) -> dict | None:
        resp = op["responses"].get(str(status))
        if resp is None and status >= 400:
            resp = op["responses"].get("default")
        if resp is not None and "$ref" in resp:
            resp = self.doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
        return resp

    def check(self, rule: str, method: str, status: int, mimetype: str, body) -> None:
        if not rule.startswith("/api/v1"):
            return
        path, method = openapi_path(rule), method.lower()
        where = f"{method.upper()} {path} -> {status}"
        op = self.doc["paths"].get(path, {}).get(method)
        if op is None:
            self.failures.append(f"{method.upper()} {path} is not documented")
            return
        self.checked += 1
        if status >= 400 and not (mimetype == PROBLEM and isinstance(body, dict) and set(body) >= PROBLEM_REQUIRED):
            self.failures.append(f"{where}: not problem+json")
            return
        resp = self._response(op, status)
        if resp is None:
            self.failures.append(f"{where}: status not documented")
            return
        content = resp.get("content", {})
        if not content:
            return
        if mimetype not in content:
            self.failures.append(f"{where}: {mimetype} is not among the documented {sorted(content)}")
            return
        if not is_json(mimetype):
            return
        schema = content[mimetype].get("schema") or {}
        validator = Draft202012Validator({**schema, "components": self.doc.get("components", {})})
        for err in validator.iter_errors(body):
            self.failures.append(f"{where}: {'/'.join(map(str, err.absolute_path))}: {err.message}")

"""schemathesis over every operation of /api/openapi.json, as a regulator, an exchange and an insurer.

Phases: examples, coverage (boundary and type-violating values of every parameter and body field, missing
required parts, methods the path does not take) and fuzzing (random positive and negative input); then a
stateful run over the links schemathesis infers from the document (the document states no OpenAPI links;
schemathesis' dependency analysis finds ~150 between operations that create and operations that use ids).
Every response must be: no server error, a documented status in a documented media type with the documented
headers and a body its schema admits; every error RFC 9457 problem+json (`problem_details`, which also covers
statuses no operation documents, such as 405); 4xx for input the document refuses; 401 without a token.
"""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.core.failures import FailureGroup

from tests.fuzz.conftest import LONG, STATEFUL_EXAMPLES, FuzzTarget, openapi_document, schemathesis_config

PROBLEM = "application/problem+json"
DOCUMENT = openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(
    schemathesis_config(("examples", "coverage", "fuzzing"))))
stateful_schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(
    schemathesis_config(("stateful",))))


def problem_details(ctx, response, case):
    """Any error, documented for the operation or not: application/problem+json with type, title and status."""
    if response.status_code < 400:
        return None
    media_type = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    assert media_type == PROBLEM, f"a {response.status_code} answered as {media_type or 'no media type'}, not {PROBLEM}"
    body = response.json()
    assert isinstance(body, dict) and {"type", "title", "status"} <= set(body), "problem details lack type/title/status"
    assert body["status"] == response.status_code, f"problem status {body['status']} != {response.status_code}"
    return None


def _validated(fuzz_target: FuzzTarget, run):
    try:
        return run()
    except FailureGroup as failures:
        fuzz_target.record(failures)
        raise


@schema.parametrize()
def test_operation(case, fuzz_target: FuzzTarget):
    _validated(fuzz_target, lambda: case.call_and_validate(additional_checks=[problem_details],
                                                            **fuzz_target.call_kwargs()))


def test_stateful(fuzz_target: FuzzTarget):
    """Scenarios that follow the inferred links: create something, then read, change or use it."""
    import hypothesis
    from schemathesis.engine.errors import is_inconsistent_replay

    found: list[FailureGroup] = []

    class Workflow(stateful_schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return fuzz_target.call_kwargs()

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                super().validate_response(response, case, additional_checks=[*(additional_checks or []),
                                                                              problem_details], **kwargs)
            except FailureGroup as failures:
                fuzz_target.record(failures)
                found.append(failures)
                raise

    try:
        Workflow.run(settings=hypothesis.settings(
            max_examples=STATEFUL_EXAMPLES, derandomize=not LONG, database=None, deadline=None, print_blob=True,
            suppress_health_check=list(hypothesis.HealthCheck)))
    except (hypothesis.errors.Flaky, AssertionError) as exc:
        # Scenarios draw ids from the answers of a database that every scenario changes, so Hypothesis may
        # see a replayed scenario draw differently. Like schemathesis' own runner, that alone is no failure;
        # a check that failed on the way is, even if its scenario did not replay.
        if not (isinstance(exc, hypothesis.errors.Flaky) or is_inconsistent_replay(exc)):
            raise
        if found:
            raise found[0] from exc


def _some_path_parameters(path: str) -> dict:
    """A value of the right shape for each path parameter (routing must reach the view)."""
    item = DOCUMENT["paths"][path]
    out = {}
    for p in item.get("parameters", []):
        if p["in"] == "path":
            out[p["name"]] = (p["schema"].get("enum") or ["1"])[0]
    return out


@pytest.mark.parametrize("fuzz_target", ["regulator"], indirect=True)
def test_every_operation_without_a_token(fuzz_target: FuzzTarget):
    """The 401 answer (problem+json, WWW-Authenticate) as documented on every operation that needs a token;
    public operations answer without one."""
    secured = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        case = operation.Case(path_parameters=_some_path_parameters(operation.path))
        response = _validated(fuzz_target, lambda c=case: c.call_and_validate(
            additional_checks=[problem_details], app=fuzz_target.app))
        if DOCUMENT["paths"][operation.path][operation.method]["security"]:
            assert response.status_code == 401, (operation.label, response.status_code)
            assert response.headers["www-authenticate"][0].startswith("Bearer")
            secured += 1
    assert secured >= 50

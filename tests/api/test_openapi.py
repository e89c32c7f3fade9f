"""The OpenAPI document: valid 3.1, every API route documented with its scope; the response checker bites."""

from openapi_spec_validator import validate

from tests.openapi_check import ResponseChecker, openapi_path


def test_document_is_valid_openapi_31(openapi_doc):
    assert openapi_doc["openapi"] == "3.1.0"
    validate(openapi_doc)
    flows = openapi_doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flows["tokenUrl"] == "/oauth/token" and "reports:write" in flows["scopes"]


def test_every_route_documented_with_its_scope(world, openapi_doc):
    seen = 0
    for rule in world.app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        view = world.app.view_functions[rule.endpoint]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = openapi_doc["paths"][openapi_path(rule.rule)][method.lower()]
            scope = view.required_scope
            assert op["security"] == ([{"oauth2": [scope]}] if scope else []), rule.rule
            seen += 1
    assert seen >= 25


def test_checker_catches_a_body_that_breaks_the_schema(openapi_doc):
    c = ResponseChecker(openapi_doc)
    c.check("/api/v1/organizations", "GET", 200, "application/json", {"items": "nope", "page": "x"})
    assert c.failures
    c = ResponseChecker(openapi_doc)
    c.check("/api/v1/organizations", "GET", 404, "application/json", {"error": "x"})
    assert c.failures == ["GET /api/v1/organizations -> 404: not problem+json"]


def test_docs_page_and_assets_served_locally(world):
    page = world.client.get("/api/docs")
    assert page.status_code == 200 and b"/api/docs/assets/" in page.data
    asset = world.client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.get_data()) > 100_000
    asset.close()


def test_errors_are_documented_as_problem_details(openapi_doc):
    """Every error response in the document is application/problem+json only, and each operation lists the
    errors its security, path and body can produce."""
    comps = openapi_doc["components"]["responses"]
    for path, item in openapi_doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            for status, resp in op["responses"].items():
                resp = comps[resp["$ref"].rsplit("/", 1)[1]] if "$ref" in resp else resp
                if status == "default" or int(status) >= 400:
                    assert list(resp["content"]) == ["application/problem+json"], (method, path, status)
            codes = set(op["responses"])
            if op["security"]:
                assert {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in op:
                assert {"400", "413", "415", "422"} <= codes, (method, path)
    assert comps["UNAUTHORIZED"]["headers"]["WWW-Authenticate"]["required"] is True
    assert "429" in openapi_doc["paths"]["/api/v1/verify"]["post"]["responses"]
    assert "429" not in openapi_doc["paths"]["/api/v1/log/checkpoint"]["get"]["responses"]
    problem = openapi_doc["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"} and problem["additionalProperties"] is True

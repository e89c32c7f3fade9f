"""What every portal page shares: who may open it, reading a form through the API's own schema, and
running a change in the unit of work.

A portal view is the twin of an API route: it loads input with the same marshmallow schema, looks
objects up with `tenancy.get_visible` (the signed-in user's organization is the principal, exactly as
for its API clients) and calls the same service. Only the answer differs: a page, with each error
next to its field (`Failure.fields`), or a redirect after a change.

    @bp.route("/offerings/new", methods=["GET", "POST"])
    @page("insurer")
    def new_offering():
        if request.method == "POST":
            data, failure = load_form(OfferingIn(), request.form)
            if not failure:
                offering, failure = attempt(service.create_offering, principal().org_id, data, principal().actor)
            if not failure:
                flash(_("Offering listed."), "success")
                return redirect(url_for(".offering", offering_id=offering.id))
            return render_template("market/offering_form.html", failure=failure, form=request.form), 422
        return render_template("market/offering_form.html", failure=None, form={})
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import abort, g, redirect, request, url_for
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields

from ..domain.errors import DomainError
from ..errors import ServiceError
from ..uow import unit_of_work
from .guard import Principal
from .schemas import text_input


@dataclass
class Failure:
    """Why a form was refused: a summary and the messages for each field (by form field name)."""

    message: str
    fields: dict[str, list[str]] = field(default_factory=dict)
    status: int = 422

    def __bool__(self) -> bool:
        return True

    def for_field(self, name: str) -> list[str]:
        return self.fields.get(name, [])


def signed_in() -> Principal | None:
    """The principal of the signed-in portal user (set by marketplace.portal before each request)."""
    p = g.get("principal")
    return p if p is not None and p.via == "user" else None


def page(*kinds: str, admin: bool = False):
    """A page for signed-in users of these organization kinds (any kind when none are named). Anonymous
    visitors are sent to sign in and brought back; others get a 403 page."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            p = signed_in()
            if p is None:
                return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
            if kinds and p.kind not in kinds:
                abort(403, description=f"This page is for {' or '.join(kinds)} users; you act for a {p.kind}.")
            if admin and p.role != "admin":
                abort(403, description="Only an administrator of your organization can do this.")
            return fn(*args, **kwargs)

        wrapper.page_kinds = kinds
        return wrapper

    return decorate


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as {"a.b": [messages]} ("_form" for the whole form)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for k, v in messages.items():
            name = prefix if k == "_schema" else (f"{prefix}.{k}" if prefix else str(k))
            for n, msgs in flatten_messages(v, name).items():
                out.setdefault(n, []).extend(msgs)
    elif isinstance(messages, (list, tuple)) and all(isinstance(m, str) for m in messages):
        out[prefix or "_form"] = list(messages)
    elif isinstance(messages, (list, tuple)):
        for m in messages:
            for n, msgs in flatten_messages(m, prefix).items():
                out.setdefault(n, []).extend(msgs)
    else:
        out[prefix or "_form"] = [str(messages)]
    return out


def form_values(schema: Schema, form, files=None) -> dict[str, Any]:
    """The raw values a form sends for the schema's fields: empty inputs are left out (so optional fields
    take their defaults and required ones say "Missing data"), list fields take every value sent."""
    raw: dict[str, Any] = {}
    for name, f in schema.fields.items():
        if f.dump_only:
            continue
        key = f.data_key or name
        if isinstance(f, fields.List):
            values = [v.strip() for v in form.getlist(key) if v.strip()]
            if values or key in form:
                raw[key] = values
        elif isinstance(f, fields.Boolean):
            if key in form:
                raw[key] = form.get(key) not in ("", "0", "false", "off")
        elif key in form and form.get(key, "").strip() != "":
            raw[key] = form.get(key).strip()
    return raw


def field_names(fields, labels: Mapping | None = None) -> str:
    """The fields an error summary names, as the form labels them (`labels`: field name -> label), else in
    words ("min_term_months" -> "Min term months"): a person never reads a code name."""
    return ", ".join(str(labels[n]) if labels and n in labels else str(n).replace("_", " ").replace(".", " ")
                     .capitalize() for n in sorted(fields))


def load_form(schema: Schema, form, extra: dict | None = None,
              labels: Mapping | None = None) -> tuple[dict | None, Failure | None]:
    """Validate a submitted form with the API's schema: (data, None) or (None, the failure by field)."""
    raw = form_values(schema, form)
    raw.update(extra or {})
    try:
        with text_input():
            return schema.load(raw), None
    except ValidationError as e:
        by_field = flatten_messages(e.messages)
        return None, Failure(_("Check these fields: %(names)s", names=field_names(by_field, labels)), by_field)


def failure_of(e: Exception) -> Failure:
    if isinstance(e, ServiceError):
        return Failure(e.detail, flatten_messages(dict(e.errors)) if isinstance(e.errors, Mapping) else {}, e.status)
    return Failure(str(e), {}, 422)


def attempt(fn: Callable, *args, **kwargs) -> tuple[Any, Failure | None]:
    """Run a change in its own unit of work: (result, None) once committed, or (None, why) with nothing
    kept. Only refusals by the rules are caught; anything else is a bug and answers 500."""
    try:
        with unit_of_work():
            result = fn(*args, **kwargs)
    except (ServiceError, DomainError) as e:
        return None, failure_of(e)
    return result, None

"""Command line: `flask --app wsgi marketplace ...` or the `marketplace` console script."""

from __future__ import annotations

import functools
import json
import sys

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from .domain.errors import DomainError
from .errors import ServiceError

EXIT_USAGE = 2


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def transactional(fn):
    """Run a command in one unit of work: commit on success; on a known error roll back, one line, exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .uow import unit_of_work

        try:
            with unit_of_work():
                return fn(*args, **kwargs)
        except (ServiceError, DomainError) as e:
            fail(getattr(e, "detail", None) or str(e))
        except SQLAlchemyError as e:
            reason = str(getattr(e, "orig", None) or type(e).__name__).splitlines()[0]
            fail(f"database error: {reason} (is it migrated? run `flask --app wsgi db upgrade`)")

    return with_appcontext(wrapper)


def table(rows: list[list[str]], headers: list[str], right: set[int] = frozenset()) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]

    def fmt(row):
        return "  ".join(str(v).rjust(w) if i in right else str(v).ljust(w)
                         for i, (v, w) in enumerate(zip(row, widths, strict=False))).rstrip()

    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *map(fmt, rows)])


@click.group("marketplace", help="Reserve-offset marketplace administration.")
def marketplace_cli() -> None:
    pass


@marketplace_cli.command("bootstrap")
@click.option("--name", default="Financial Services Agency (Japan)", show_default=True)
@click.option("--jurisdiction", default="JP", show_default=True)
@transactional
def bootstrap(name: str, jurisdiction: str) -> None:
    """Publish the shipped rule-sets and create the regulator organization (idempotent)."""
    from .auth import service as auth
    from .auth.models import OAuthClient
    from .extensions import db
    from .registry import service as registry
    from .rulesets import service as rulesets

    added = rulesets.seed_shipped(current_app.extensions["shipped_rulesets"])
    org, created = registry.ensure_regulator(name, jurisdiction, "cli:bootstrap")
    click.echo(f"rule-sets published: {added} new")
    click.echo(f"regulator {org.name} ({org.jurisdiction}): {'created' if created else 'already exists'}, id {org.id}")
    if db.session.query(OAuthClient).filter_by(org_id=org.id).count() == 0:
        client, secret = auth.create_client(org, "bootstrap", None, "cli:bootstrap")
        click.echo(f"client_id:     {client.client_id}")
        click.echo(f"client_secret: {secret}")
        click.echo("(the secret is shown once and stored only as a hash: keep it now)")


@marketplace_cli.command("demo")
@transactional
def demo() -> None:
    """Load the demo data (idempotent)."""
    from pathlib import Path

    from .demo import credentials
    from .demo.service import load

    for kind, names in load().items():
        click.echo(f"{kind}: {', '.join(names)}")
    path = credentials.ensure(Path(current_app.instance_path) / "demo-credentials.json")
    click.echo(f"API client credentials and portal users for every demo organization: {path}")
    base = current_app.config["BASE_URL"]
    click.echo(f"Sign in to the portal at {base}/login with any \"users\" entry of that file; "
               f"verify certificates at {base}/verify")


@marketplace_cli.group("rulesets", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def rulesets_group(ctx: click.Context, as_json: bool) -> None:
    """List published rule-set versions with their digests and sourced parameters; `diff` compares two."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_rulesets, as_json=as_json)


@transactional
def list_rulesets(as_json: bool) -> None:
    from .rulesets import service as rulesets

    rows = rulesets.all_versions()
    if as_json:
        click.echo(json.dumps([{"id": rs.id, "version": rs.version, "jurisdiction": rs.jurisdiction,
                                "effective_from": rs.effective_from.isoformat(), "currency": rs.currency,
                                "digest": rs.digest, "sourced": rs.sourced} for _, rs in rows], indent=2))
        return
    if not rows:
        click.echo("no rule-sets published yet: run `marketplace bootstrap`", err=True)
    click.echo(table([[rs.id, rs.version, rs.jurisdiction, rs.effective_from.isoformat(), rs.currency,
                       f"{rs.sourced['count']} of {rs.sourced['of']}", rs.digest] for _, rs in rows],
                     ["id", "version", "jurisdiction", "effective", "currency", "sourced", "digest"]))


def _plain(v) -> str:
    return "—" if v is None else (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))


@rulesets_group.command("diff")
@click.argument("older")
@click.argument("newer")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@transactional
def rulesets_diff(older: str, newer: str, as_json: bool) -> None:
    """Compare two published versions (ID@VERSION ID@VERSION): parameters added, removed and changed, with
    their sources."""
    from .rulesets import service as rulesets

    rows = rulesets.find_refs(**{"from": older, "to": newer})
    d = rulesets.diff_as_dict(rows["from"], rows["to"])
    if as_json:
        click.echo(json.dumps(d, indent=2, ensure_ascii=False))
        return
    a, b = d["from"], d["to"]
    click.echo(f"{older} ({a['sourced']['count']} of {a['sourced']['of']} parameters sourced) -> "
               f"{newer} ({b['sourced']['count']} of {b['sourced']['of']} parameters sourced)")
    if d["same"]:
        click.echo("no differences")
        return
    for h in d["header"]:
        click.echo(f"~ {h['field']}: {_plain(h['old'])} -> {_plain(h['new'])}")
    for c in d["added"]:
        click.echo(f"+ {c['name']} = {_plain(c['new']['value'])}\n    source: {c['new']['source']}")
    for c in d["removed"]:
        click.echo(f"- {c['name']} = {_plain(c['old']['value'])}\n    source was: {c['old']['source']}")
    for c in d["changed"]:
        click.echo(f"~ {c['name']} ({', '.join(c['parts'])})")
        if "value" in c["parts"]:
            if c["keys"]:
                for k in c["keys"]:
                    click.echo(f"    {k['key']}: {_plain(k['old'])} -> {_plain(k['new'])}")
            else:
                click.echo(f"    value: {_plain(c['old']['value'])} -> {_plain(c['new']['value'])}")
        if "provisional" in c["parts"]:
            click.echo(f"    provisional: {c['old']['provisional']} -> {c['new']['provisional']}")
        click.echo(f"    old source: {c['old']['source']}\n    new source: {c['new']['source']}")
    click.echo(f"{len(d['added'])} added, {len(d['removed'])} removed, {len(d['changed'])} changed, "
               f"{len(d['unchanged'])} unchanged")


@marketplace_cli.command("obligation")
@click.option("--exchange", "licence", required=True, help="The exchange's licence number.")
@click.option("--period", required=True, help="YYYY-Qn, YYYY-MM or YYYY.")
@click.option("--ruleset", "ruleset_ref", help="ID@VERSION; default: the one in force at the period start.")
@click.option("--jurisdiction", help="Needed only when the licence number exists in several jurisdictions.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@transactional
def obligation(licence: str, period: str, ruleset_ref: str | None, jurisdiction: str | None, as_json: bool) -> None:
    """Compute (and store) an exchange's obligation for a period, and print its breakdown."""
    from .obligations import service as obligations
    from .registry import service as registry

    ex = registry.find_exchange(licence, jurisdiction)
    row = obligations.compute(ex, period, "cli", ruleset_ref)
    ob = obligations.to_domain(row)
    if as_json:
        doc = ob.as_dict()
        doc.update(id=row.id, revision=row.revision, exchange={"id": ex.org_id, "name": ex.org.name,
                                                               "licence_number": ex.licence_number})
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    click.echo(f"{ex.org.name} ({ex.jurisdiction} licence {ex.licence_number}), period {ob.period.label} "
               f"({ob.period.start}..{ob.period.end}), revision {row.revision}")
    click.echo(f"rule-set {row.ruleset_id}@{row.ruleset_version} {row.ruleset_digest}\n")
    rows = [[ln.component, ln.amount.format(), ln.explanation] for ln in ob.lines]
    rows.append(["TOTAL", ob.total.format(), ""])
    click.echo(table(rows, ["component", "amount", "explanation"], right={1}))


@marketplace_cli.group("clients")
def clients() -> None:
    """API client credentials."""


def _find_org(ref: str):
    from sqlalchemy import or_, select

    from .extensions import db
    from .registry.models import Organization

    found = db.session.scalars(select(Organization).where(or_(Organization.id == ref, Organization.name == ref))).all()
    if len(found) != 1:
        fail(f"no single organization with id or name {ref!r}")
    return found[0]


@clients.command("create")
@click.option("--org", "org_ref", required=True, help="Organization id or exact name.")
@click.option("--scopes", default="", help="Space- or comma-separated; default: every scope the org may hold.")
@click.option("--name", default="cli", show_default=True)
@transactional
def clients_create(org_ref: str, scopes: str, name: str) -> None:
    """Create a client; its secret is printed once."""
    from .auth import service as auth

    org = _find_org(org_ref)
    wanted = [s for s in scopes.replace(",", " ").split() if s]
    client, secret = auth.create_client(org, name, wanted or None, "cli")
    click.echo(f"client_id:     {client.client_id}\nclient_secret: {secret}\nscopes:        {client.scope}")


@clients.command("revoke")
@click.argument("client_id")
@transactional
def clients_revoke(client_id: str) -> None:
    """Revoke a client and every token it holds."""
    from .auth import service as auth

    auth.revoke_client(auth.get_client(client_id))
    click.echo(f"revoked {client_id}")


@marketplace_cli.group("users")
def users_group() -> None:
    """Portal users: create, and one-time links to set a password (there is no mail server)."""


def _link(token: str) -> str:
    return f"{current_app.config['BASE_URL']}/link/{token}"


@users_group.command("create")
@click.option("--org", "org_ref", required=True, help="Organization id or exact name.")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice(["admin", "member"]), default="member", show_default=True)
@transactional
def users_create(org_ref: str, email: str, name: str, role: str) -> None:
    """Create a user and print its one-time invitation link (valid 7 days)."""
    from .auth import users

    user = users.create(_find_org(org_ref), email, name, role, "cli")
    click.echo(f"invitation link for {user.email} (shown once): {_link(users.issue_link(user, 'invite', 'cli'))}")


@users_group.command("reset-link")
@click.argument("email")
@transactional
def users_reset_link(email: str) -> None:
    """Print a one-time password reset link for EMAIL (valid 24 hours; earlier links stop working)."""
    from .auth import users

    user = users.by_email(email)
    if user is None:
        fail(f"no user with the email {email!r}")
    click.echo(f"password reset link for {user.email} (shown once): {_link(users.issue_link(user, 'reset', 'cli'))}")


@marketplace_cli.group("keys")
def keys_group() -> None:
    """Platform signing keys."""


@keys_group.command("rotate")
@transactional
def keys_rotate() -> None:
    """Make a new active platform key; the old one is retired (it still verifies, never signs)."""
    from .keys import service as keys

    old, new = keys.rotate_platform()
    click.echo(f"retired {old.kid}" if old else "no previous key")
    click.echo(f"active  {new.kid}")


@marketplace_cli.group("events")
def events_group() -> None:
    """Domain events."""


@events_group.command("relay")
@with_appcontext
def events_relay() -> None:
    """Run every due event delivery now (the worker and the schedule do this on their own)."""
    from .events.relay import relay

    out = relay()
    click.echo(f"deliveries done: {out['done']}, failed (retried later): {out['failed']}")


@events_group.command("deliveries")
@click.option("--status", type=click.Choice(["pending", "done", "failed"]), default="failed")
@with_appcontext
def events_deliveries(status: str) -> None:
    """List event deliveries by status (default: failed), with their last error."""
    from .events.models import Delivery

    rows = db_session().query(Delivery).filter_by(status=status).order_by(Delivery.created_at).limit(200).all()
    for d in rows:
        click.echo(f"{d.id}  {d.event.kind:24} -> {d.subscriber:10} attempts {d.attempts}  {d.last_error or ''}")
    click.echo(f"{len(rows)} {status} deliveries")


@events_group.command("retry")
@click.argument("delivery_id")
@transactional
def events_retry(delivery_id: str) -> None:
    """Make a delivery due again now (after fixing what made it fail)."""
    from .events.relay import retry

    if retry(delivery_id) is None:
        fail(f"no delivery {delivery_id}")
    click.echo(f"delivery {delivery_id} is due again")


def db_session():
    from .extensions import db

    return db.session


@marketplace_cli.group("log")
def log_group() -> None:
    """The transparency log."""


@log_group.command("audit")
@click.option("--url", help="Audit a remote service through its public endpoints instead of the database.")
def log_audit(url: str | None) -> None:
    """Recompute the log from its entries, check every stored checkpoint and their consistency.
    Exit 0 when everything matches, 1 on any mismatch (named), 2 when the log cannot be read."""
    from .tlog import audit as auditor

    def run(source_factory):
        try:
            src = source_factory()
        except OSError as e:
            fail(f"cannot read the log: {e}")
        problems = auditor.audit(src, click.echo)
        for p in problems:
            click.echo(f"MISMATCH {p}", err=True)
        click.echo("audit FAILED" if problems else "audit OK")
        sys.exit(1 if problems else 0)

    if url:
        run(lambda: auditor.remote_source(url))
    else:
        with_appcontext(lambda: run(auditor.local_source))()


def _job_commands() -> None:
    from .jobs.commands import scheduler_command, worker_command

    marketplace_cli.add_command(worker_command)
    marketplace_cli.add_command(scheduler_command)


_job_commands()


def _offline_commands() -> None:
    from .verify.cli import attest_command, verify_command

    marketplace_cli.add_command(verify_command)
    marketplace_cli.add_command(attest_command)


_offline_commands()


def main(argv: list[str] | None = None) -> None:
    """Console script entry point: the same commands, with the app built from the environment (named, not
    imported: the app imports this module to register the commands)."""
    marketplace_cli.main(args=argv, prog_name="marketplace", obj=ScriptInfo(app_import_path="marketplace:create_app"))

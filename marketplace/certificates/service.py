"""Issuing certificates (DESIGN 5), superseding and revoking them, and building offline bundles."""

from __future__ import annotations

from datetime import UTC, datetime, time

import rfc8785
from flask import current_app
from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..attestations.models import Attestation
from ..crypto import jws
from ..db import new_id, utcnow
from ..errors import Conflict, Unprocessable
from ..events import kinds
from ..events import service as events
from ..extensions import db, plain_rows
from ..keys import service as keys
from ..obligations import service as obligations
from ..obligations.models import ObligationRecord
from ..policies.models import Policy
from ..registry.models import Exchange, Organization
from ..tlog import sequencer
from ..tlog import service as tlog
from ..urns import INSURER_URN_PREFIX, exchange_urn, insurer_urn
from . import slots, statuslists
from .models import IS_VALID, Certificate, CertificateCoverage

V2 = "https://www.w3.org/ns/credentials/v2"
SLOT_ATTEMPTS = 5


def context_url() -> str:
    return f"{current_app.config['BASE_URL']}/contexts/reserve-offset/v1"


def rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _end_of(day) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _coverage(ob: ObligationRecord):
    """(offset report, rule-set, [(coverage entry, policy)]) for the allocations that count.

    One entry per policy: an exchange may attach the same policy more than once (say, topping it up),
    and the entry carries the sum of those allocations and of their eligible offsets. The insurer
    attested one limit per policy, so a verifier's "allocated <= attested limit" stays meaningful."""
    report, rs = obligations.offset_for(ob)
    by_policy: dict[str, list] = {}
    for a in report.allocations:
        if a.ok and a.eligible.amount > 0:
            by_policy.setdefault(a.policy_id, []).append(a)
    found = {p.id: (p, jws, name) for p, jws, name in db.session.execute(
        select(Policy, Attestation.jws, Organization.name)
        .outerjoin(Attestation, (Attestation.policy_id == Policy.id) & (Attestation.revision == Policy.revision))
        .join(Organization, Organization.id == Policy.insurer_id)
        .where(Policy.id.in_(list(by_policy))))} if by_policy else {}
    rows = []
    for policy_id, allocs in by_policy.items():  # in allocation order, as before
        p, jws, insurer_name = found[policy_id]
        if jws is None:
            raise Conflict(f"policy {p.number} has no insurer attestation for its revision {p.revision}")
        rows.append(({"policyNumber": p.number, "insurer": {"id": insurer_urn(p.insurer_id), "name": insurer_name},
                      "currency": allocs[0].allocated.currency,
                      "allocated": str(sum(a.allocated.amount for a in allocs)),
                      "eligibleOffset": str(sum(a.eligible.amount for a in allocs)), "attestation": jws}, p))
    return report, rs, rows


def _credential(cert_id: str, ob: ObligationRecord, ex: Row, rs, report, rows, now: datetime,
                until: datetime, list_id: int, index: int) -> dict:
    list_url = statuslists.list_url(list_id)
    return {
        "@context": [V2, context_url()],
        "type": ["VerifiableCredential", "ReserveOffsetCertificate"],
        "id": f"urn:uuid:{cert_id}",
        "issuer": current_app.config["BASE_URL"],
        "validFrom": rfc3339(now),
        "validUntil": rfc3339(until),
        "credentialSubject": {
            "id": exchange_urn(ex.org_id), "name": ex.name, "licenseNumber": ex.licence_number,
            "jurisdiction": ex.jurisdiction,
            "period": {"start": ob.period_start.isoformat(), "end": ob.period_end.isoformat()},
            "ruleset": {"id": rs.id, "version": rs.version, "digest": rs.digest},
            "currency": ob.currency, "obligation": str(ob.total), "insuranceOffset": str(report.total.amount),
            "netReserveRequired": str(report.net_reserve.amount),
            "coverage": [entry for entry, _ in rows],
        },
        "credentialStatus": {"id": f"{list_url}#{index}", "type": "BitstringStatusListEntry",
                             "statusPurpose": "revocation", "statusListIndex": str(index),
                             "statusListCredential": list_url},
    }


SUPERSEDED_BY = "superseded by certificate "  # the revocation reason when a newer certificate takes over


def is_supersession(reason: str) -> bool:
    """Whether a revocation only made way for a newer certificate of the same obligation (nothing else
    changed: not its cover, not its offset)."""
    return reason.startswith(SUPERSEDED_BY)


# the exchange's row, locked, with what the credential names (a row, not ORM objects: read fresh, nothing kept)
_LOCK_EXCHANGE = select(Exchange.org_id, Exchange.licence_number, Exchange.jurisdiction, Organization.name) \
    .join(Organization, Organization.id == Exchange.org_id).where(Exchange.org_id == bindparam("exchange_id")) \
    .with_for_update(of=Exchange)


def issue(ob: ObligationRecord, actor: str, now: datetime | None = None) -> Certificate:
    """Sign and store a certificate for the obligation; earlier valid ones for its period are superseded."""
    if ob.superseded_at is not None:
        raise Conflict("this obligation revision was superseded; certify the current revision")
    now = (now or utcnow()).replace(microsecond=0)
    report, rs, rows = _coverage(ob)
    # one issuance per exchange at a time: the certificates it supersedes are then its alone to revoke
    ex = plain_rows(_LOCK_EXCHANGE, {"exchange_id": ob.exchange_id}).one()
    until = min([_end_of(ob.period_end)] + [_end_of(p.term_end) for _, p in rows])
    if until <= now:
        raise Unprocessable(f"nothing left to certify: validity would end {rfc3339(until)}, before now")
    cert_id, key = new_id(), keys.platform_key()
    signer = keys.signer(key)
    for attempt in range(SLOT_ATTEMPTS):
        list_id, index = slots.assign()
        credential = _credential(cert_id, ob, ex, rs, report, rows, now, until, list_id, index)
        token = jws.sign(credential, signer, "vc+jwt")
        values = {"id": cert_id, "obligation_id": ob.id, "exchange_id": ex.org_id, "period": ob.period,
                  "kid": key.kid, "jws": token, "credential": credential, "status_list_id": list_id,
                  "status_index": index, "valid_from": now, "valid_until": until, "status": "valid",
                  "revoked_reason": None, "revoked_at": None, "created_by": actor, "created_at": utcnow()}
        if _insert_unless_slot_taken(values):  # another issuance may have drawn the same free slot just now
            break
        if attempt == SLOT_ATTEMPTS - 1:
            raise Conflict("no free status-list slot after several draws; please retry")
    if rows:
        db.session.execute(insert(CertificateCoverage.__table__), [
            {"certificate_id": cert_id, "policy_id": p.id, "insurer_id": p.insurer_id, "policy_revision": p.revision}
            for _, p in rows])
    cert = Certificate(**values)
    make_transient_to_detached(cert)  # the row just written, as if loaded: no flush, no INSERT of its own
    db.session.add(cert)
    sequencer.queue("issuance", token.encode("ascii"), cert.id)  # commits with the certificate; sequenced in a batch
    subject = credential["credentialSubject"]
    money = {k: {"amount": subject[k], "currency": ob.currency}
             for k in ("obligation", "insuranceOffset", "netReserveRequired")}
    events.record(kinds.CertificateIssued(
        certificate_id=cert.id, exchange_id=ex.org_id, jurisdiction=ex.jurisdiction, period=ob.period,
        insurer_ids=sorted({p.insurer_id for _, p in rows}), obligation=money["obligation"],
        insurance_offset=money["insuranceOffset"], net_reserve_required=money["netReserveRequired"],
        valid_until=rfc3339(until)), actor)
    # last: revoking takes the superseded certificate's status-list row lock, held until commit
    _supersede(ex, ob.period, cert_id)
    return cert


def _supersede(ex: Row, period: str, new_id: str) -> None:
    """Revoke the exchange's other valid certificates of the period, as revoke_all would, with one UPDATE that
    finds them and returns what the log entry and the event need (no certificate is loaded). Its sub-select
    locks their rows in revoke_all's order, (status list, index); the list rows are taken after, by list."""
    reason, at = SUPERSEDED_BY + new_id, utcnow()
    ids = superseded(ex.org_id, period, new_id).with_only_columns(Certificate.id) \
        .order_by(Certificate.status_list_id, Certificate.status_index).with_for_update()
    won = db.session.execute(update(Certificate).where(Certificate.id.in_(ids), IS_VALID)
                             .values(status="revoked", revoked_reason=reason, revoked_at=at)
                             .returning(Certificate.id, Certificate.period, Certificate.status_list_id,
                                        Certificate.status_index, Certificate.credential)
                             .execution_options(synchronize_session=False)).all()
    for row in won:
        _record_revocation(row.id, ex.org_id, row.period, row.credential, row.status_index, reason, at, ex)
    for list_id, index in sorted((row.status_list_id, row.status_index) for row in won):
        statuslists.set_revoked(list_id, index)


def _insert_unless_slot_taken(values: dict) -> bool:
    """One INSERT ... ON CONFLICT (slot) DO NOTHING: False if the slot was taken, without a savepoint.

    Plain table statements rather than ORM objects here: the unit-of-work flush cost more than the INSERT."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(Certificate.__table__).on_conflict_do_nothing(index_elements=["status_list_id",
                                                                                      "status_index"])
    return db.session.execute(stmt.returning(Certificate.__table__.c.id), values).first() is not None


def superseded(exchange_id: str, period: str, new_id: str):
    """The exchange's other valid certificates of the period (through ix_certificates_valid_exchange_period)."""
    return select(Certificate).where(Certificate.exchange_id == exchange_id, Certificate.period == period, IS_VALID,
                                     Certificate.id != new_id)


def revoke(cert: Certificate, reason: str, exchange: Exchange | None = None) -> bool:
    """Set the status bit and record why and when. Revoking twice changes nothing."""
    return revoke_all([cert], reason, exchange) == 1


def revoke_all(certs: list[Certificate], reason: str, exchange: Exchange | None = None) -> int:
    """Revoke each certificate (those already revoked are skipped); how many this call revoked.

    Locks are taken in one order by every revoker, so two never wait for each other in a cycle: first
    each certificate's row (a conditional UPDATE: of two transactions revoking the same certificate exactly
    one wins, the other waits on the row, then matches nothing, so the bit and the log entry happen once),
    ordered by (status list, index); only then the status lists' rows, by list id, held until commit."""
    bits = []
    for cert in sorted({c.id: c for c in certs}.values(), key=lambda c: (c.status_list_id, c.status_index)):
        if _mark_revoked(cert, reason, exchange):
            bits.append((cert.status_list_id, cert.status_index))
    for list_id, index in sorted(bits):
        statuslists.set_revoked(list_id, index)
    return len(bits)


def _mark_revoked(cert: Certificate, reason: str, exchange: Exchange | None) -> bool:
    won = db.session.execute(update(Certificate).where(Certificate.id == cert.id, Certificate.status == "valid")
                             .values(status="revoked", revoked_reason=reason, revoked_at=utcnow())
                             .returning(Certificate.status, Certificate.revoked_reason, Certificate.revoked_at)
                             .execution_options(synchronize_session=False)).one_or_none()
    if won is None:
        db.session.refresh(cert)
        return False
    for name, value in zip(("status", "revoked_reason", "revoked_at"), won, strict=True):
        set_committed_value(cert, name, value)  # what the database now holds, without another UPDATE
    _record_revocation(cert.id, cert.exchange_id, cert.period, cert.credential, cert.status_index, reason,
                       cert.revoked_at, exchange)
    return True


def _record_revocation(cert_id: str, exchange_id: str, period: str, credential: dict, index: int, reason: str,
                       at: datetime, exchange: Exchange | Row | None) -> None:
    """Queue the revocation's log entry and record its event, for a certificate this transaction revoked."""
    sequencer.queue("revocation", rfc8785.dumps({
        "certificate": f"urn:uuid:{cert_id}", "reason": reason, "time": rfc3339(at),
        "statusList": credential["credentialStatus"]["statusListCredential"], "statusListIndex": index}), cert_id)
    ex = exchange if exchange is not None and exchange.org_id == exchange_id else db.session.get(Exchange, exchange_id)
    insurers = db.session.scalars(select(CertificateCoverage.insurer_id).filter_by(certificate_id=cert_id))
    events.record(kinds.CertificateRevoked(
        certificate_id=cert_id, exchange_id=exchange_id, jurisdiction=ex.jurisdiction, period=period,
        insurer_ids=sorted(set(insurers)), reason=reason, revoked_at=rfc3339(at)), "revocation")


_LOG_INDEX = "_known_log_index"  # an instance attribute only, never a column


def known_log_index(cert: Certificate, index: int | None) -> None:
    """Remember where the log integrated this certificate's issuance (the issuing request learnt it from the
    batch), so receipt_for need not look it up again."""
    if index is not None:
        setattr(cert, _LOG_INDEX, index)


def receipt_for(cert: Certificate) -> dict | None:
    idx = getattr(cert, _LOG_INDEX, None)
    if idx is None:
        idx = tlog.issuance_index(cert.id)
    return tlog.receipt(idx) if idx is not None else None


def insurer_jwks_for(credential: dict) -> dict[str, dict]:
    """{insurer URN: that insurer's JWKS} for the insurers a credential's coverage names; anything that
    is not one of our insurer URNs is skipped (the credential may be untrusted input)."""
    out = {}
    coverage = (credential.get("credentialSubject") or {}).get("coverage") or []
    for entry in coverage if isinstance(coverage, list) else []:
        urn = str(((entry if isinstance(entry, dict) else {}).get("insurer") or {}).get("id", ""))
        if urn.startswith(INSURER_URN_PREFIX) and len(urn) <= 64:
            out[urn] = keys.insurer_jwks(urn.removeprefix(INSURER_URN_PREFIX))
    return out


def bundle(cert: Certificate) -> dict:
    """Everything needed to verify with no network: certificate, platform and insurer JWKS, status list."""
    return {
        "certificate": cert.jws,
        "receipt": receipt_for(cert),
        "logKey": tlog.verifier_key(),
        "platformJwks": keys.platform_jwks(),
        "insurerJwks": insurer_jwks_for(cert.credential),
        "statusListCredential": statuslists.credential(cert.status_list_id, utcnow()),
        "statusListFetchedAt": rfc3339(utcnow()),  # the list's ttl counts from here (see verify/statuslist.py)
    }


def filtered(stmt, exchange: str | None = None, status: str | None = None, period: str | None = None,
             issued_from=None, issued_to=None):
    """Read-only (portal): narrow a select of certificates (already tenancy-filtered by the caller) by
    exchange, status, period and the day they were issued (from and to inclusive, UTC)."""
    from datetime import timedelta

    if exchange:
        stmt = stmt.where(Certificate.exchange_id == exchange)
    if status:
        stmt = stmt.where(Certificate.status == status)
    if period:
        stmt = stmt.where(Certificate.period == period)
    if issued_from is not None:
        stmt = stmt.where(Certificate.valid_from >= datetime.combine(issued_from, time(0, 0), tzinfo=UTC))
    if issued_to is not None:
        stmt = stmt.where(Certificate.valid_from < datetime.combine(issued_to + timedelta(days=1), time(0, 0),
                                                                     tzinfo=UTC))
    return stmt

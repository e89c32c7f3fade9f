from sqlalchemy import false, select

from ..registry.models import Exchange
from ..tenancy import rule
from .models import Certificate, CertificateCoverage


@rule(Certificate)
def _certificates(p):
    if p.kind == "exchange":
        return Certificate.exchange_id == p.org_id
    if p.kind == "regulator":
        return Certificate.exchange_id.in_(select(Exchange.org_id).where(Exchange.regulator_id == p.org_id))
    if p.kind == "insurer":
        return Certificate.id.in_(select(CertificateCoverage.certificate_id)
                                  .where(CertificateCoverage.insurer_id == p.org_id))
    return false()

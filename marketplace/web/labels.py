"""Names people read for the service's codes, shared by every page (one word for one thing)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# every code of domain.cover.PERILS (the union of the jurisdictions' vocabularies, and version 1's codes)
PERILS = {
    "theft_hack": _l("Theft or hack"), "insider_fraud": _l("Insider fraud"),
    "operational_failure": _l("Operational failure"), "custodian_failure": _l("Custodian failure"),
    "professional_liability": _l("Professional liability"), "business_disruption": _l("Business disruption"),
    "loss_of_documents": _l("Loss of documents"),
    # EU: the seven risks of MiCA Art. 67(6)
    "misrepresentation": _l("Misrepresentations or misleading statements"),
    "breach_of_duty": _l("Breach of legal or regulatory duties, of fair and professional conduct, or of "
                         "confidentiality"),
    "conflicts_of_interest": _l("Failure to manage conflicts of interest"),
    "gross_negligence_safeguarding": _l("Gross negligence in safeguarding clients' crypto-assets and funds"),
    "custodian_liability": _l("Custodian liability to clients (MiCA Art. 75(8))"),
    # HK
    "custody_risk": _l("Custody of client virtual assets"),
}

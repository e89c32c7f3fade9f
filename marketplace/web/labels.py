"""Names people read for the service's codes, shared by every page (one word for one thing)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

PERILS = {
    "theft_hack": _l("Theft or hack"), "insider_fraud": _l("Insider fraud"),
    "operational_failure": _l("Operational failure"), "custodian_failure": _l("Custodian failure"),
    "professional_liability": _l("Professional liability"), "business_disruption": _l("Business disruption"),
    "loss_of_documents": _l("Loss of documents"),
}

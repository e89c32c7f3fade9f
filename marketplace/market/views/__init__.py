"""Portal pages of this feature (blueprint market_pages): the same schemas, services and tenancy as its API.

forms.py reads forms through the API's schemas; offerings.py, requests.py and search.py hold the pages.

Insurers: their offerings (create, edit, list, withdraw) and the requests addressed to them (quote, decline,
bind). Exchanges: the market search with eligibility per offering, requesting cover, their requests (accept a
quote, withdraw). Each change is the API route's service call in one unit of work (`attempt`); amounts are
typed in major units and read with `domain.money.parse_amount`.
"""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from ...web import labels
from .. import access  # noqa: F401  (registers the visibility rules)

bp = Blueprint("market_pages", __name__, url_prefix="/market", template_folder="../templates")

PERIL_NAMES = labels.PERILS  # one name per peril on every page
REQUEST_STATUS = {
    "requested": _l("Requested"), "quoted": _l("Quoted"), "accepted": _l("Accepted"), "bound": _l("Bound"),
    "declined": _l("Declined"), "expired": _l("Expired"), "withdrawn": _l("Withdrawn"),
}
OFFERING_STATUS = {"draft": _l("Draft"), "listed": _l("Listed"), "withdrawn": _l("Withdrawn")}
CHECK_NAMES = {
    "insurer_approved": _l("Insurer approved in your jurisdiction"), "insurer_rating": _l("Insurer rating"),
    "perils_covered": _l("Required perils covered"), "initial_term": _l("Initial term long enough"),
}
SORTS = {"rate": _l("Rate, lowest first"), "-rate": _l("Rate, highest first"),
         "capacity": _l("Remaining capacity, smallest first"), "-capacity": _l("Remaining capacity, largest first"),
         "-rating": _l("Rating, best first"), "rating": _l("Rating, weakest first")}
# the order the insurer's incoming requests are shown in: what waits for the insurer first
INCOMING_ORDER = ("requested", "accepted", "quoted", "bound", "declined", "expired", "withdrawn")
OFFERING_MONEY = ("min_limit", "max_limit", "capacity", "deductible")
PER_PAGE = 20


@bp.context_processor
def _vocabulary():
    return {"PERIL_NAMES": PERIL_NAMES, "REQUEST_STATUS": REQUEST_STATUS, "OFFERING_STATUS": OFFERING_STATUS,
            "CHECK_NAMES": CHECK_NAMES, "percent": percent, "major": major, "ref": reference,
            "page_args": page_args,
            "offering_perils": lambda o: [(p, str(PERIL_NAMES.get(p, p))) for p in o.perils]}


from . import offerings, requests, search  # noqa: E402  (the pages register themselves on bp)
from .forms import major, percent, reference  # noqa: E402
from .search import page_args  # noqa: E402

__all__ = ["bp", "offerings", "requests", "search"]

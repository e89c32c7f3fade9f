from ..registry.access import visible_exchange_ids
from ..tenancy import rule
from .models import ObligationRecord


@rule(ObligationRecord)
def _obligations(p):
    return ObligationRecord.exchange_id.in_(visible_exchange_ids())

"""Errors raised by the domain core. Each carries a plain-words message."""


class DomainError(ValueError):
    """Base class: the input cannot be computed as asked."""


class CurrencyMismatch(DomainError):
    pass


class UnknownCurrency(DomainError):
    pass


class RuleSetInvalid(DomainError):
    """A rule-set document failed validation; `errors` lists every problem as (path, message)."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{p}: {m}" for p, m in errors))


class IncompleteFacts(DomainError):
    """The exchange's reported facts do not cover what the rule-set needs."""


class BadPeriod(DomainError):
    pass

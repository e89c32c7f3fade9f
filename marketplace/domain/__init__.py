"""The pure domain core: money, rule-sets, obligations and offset eligibility.

No flask, no sqlalchemy, no I/O: plain dataclasses and functions (DESIGN section 4).
"""

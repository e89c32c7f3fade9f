"""The coverage market: insurers' offerings, search, and request -> quote -> accept -> bind."""

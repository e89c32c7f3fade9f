"""Obligations: computed reserves per exchange and period, stored as revisions with their line items."""

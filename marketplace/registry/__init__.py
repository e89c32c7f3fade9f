"""Registry: organizations (regulators, insurers, exchanges, custodians), approvals, ratings, users."""

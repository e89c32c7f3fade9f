"""Domain events (transactional outbox): written in the same transaction as the change they record."""

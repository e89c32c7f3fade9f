"""Exchange reports: monthly volumes, custody balances, incidents, fixed overheads."""

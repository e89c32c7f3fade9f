"""Insurance policies: bound in the market or registered by the insurer; revisions, cancellation, lapse."""

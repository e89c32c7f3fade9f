"""Reference FX rates, recorded with their source."""

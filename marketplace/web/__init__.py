"""Web adapter helpers shared by every feature blueprint."""

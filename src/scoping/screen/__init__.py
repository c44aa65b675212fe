"""screen stage."""

"""Silver: typed, validated, deduplicated events, and the serving query."""

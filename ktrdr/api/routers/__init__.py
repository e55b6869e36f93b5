"""One router per area; each module exports ``router``."""

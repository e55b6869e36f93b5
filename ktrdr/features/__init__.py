"""Features: indicators (TA-Lib and own), fuzzy memberships, the feature builder and labels."""

"""The evaluation protocol (DESIGN §11): statistics, verdicts and the counted holdout looks."""

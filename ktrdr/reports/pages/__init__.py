"""The HTML report pages: backtest (and walk-forward), training and research cycle."""

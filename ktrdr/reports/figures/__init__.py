"""Plotly figures, each a function of stored artifacts answering one question."""

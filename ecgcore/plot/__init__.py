"""Figures and tables the app shows (plotly), built from what the other packages compute."""

"""Realtime endpoints: a ready model deployed to its dataset's endpoint, its state changes, clean-up and the idle guard."""

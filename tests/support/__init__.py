"""Support code shared by the tests (on pytest's pythonpath, so tests import it as `support`)."""

"""The ``ktrdr`` command line: an HTTP client of the API, plus ``ktrdr serve`` (DESIGN §6)."""

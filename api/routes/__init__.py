"""HTTP routes: ``*_api`` modules are the JSON API, ``*_pages`` modules the Russian web pages."""

"""Bundled multilingual sample news site (package data in site/) and its loopback server."""

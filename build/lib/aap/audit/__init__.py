"""Audit tools: verify the log's integrity, read a dossier's timeline, replay and compare views."""

"""Hostile apps against the app sandbox (issue 17): each class of breach, tried by several routes, judged from outside."""

"""Alliances (积分联盟): an alliance tenant whose currency its member merchants share.

``model`` holds memberships (invited → active); ``services`` the use cases: invite,
accept, the member list with per-member figures, and a member merchant earning and
accepting the alliance's points (each writing a clearing record against the alliance);
``api`` and ``schemas`` the ``/v1/alliance`` endpoints.
"""

"""Card holders: the person behind a card, and the only authority over its points across
tenants (API.md, Card holders; docs/holders.md).

* ``codes``: one-time codes as pure functions (making them, their keyed digests).
* ``model``: ``holder_codes`` (sign-in codes sent to the card's contact, counter codes
  the holder hands over, sign-in links) and ``holder_sessions``.
* ``services``: ask for a code, open and end a session, issue a counter code, and
  ``spend_holder_code``, which every use case that needs the holder's authority calls
  before it starts (one code, one attempt).
* ``api``: ``/v1/holder/codes``, ``/v1/holder/sessions``, ``/v1/me/holder_codes``.
"""

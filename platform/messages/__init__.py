"""Messages to people — sign-in codes, wallet links, staff invitations — through one
outbox (``model``), sent after commit by email (SMTP) or SMS (an HTTP gateway)
(``channels``), rendered in English or Chinese (``rendering``, templates and their
catalog here; ``translate`` refreshes it).

Areas call ``services.send(uow, ...)`` inside their own unit of work; everything else
(``deliver``, the periodic ``retry_due``, the console's ``list_outbox``) belongs to this
package. See docs/messages.md.
"""

"""E-mails rendered from templates, one name per message (as healthchecks' hc/lib/emails.py).

`send("token-created", context, to)` renders `templates/emails/token-created-subject.txt`,
`-body.txt` and `-body.html` with `context`: the wording lives with the portal's other templates,
`pluralize` handles counts, and the HTML part is an alternative to the plain text. Neutral: any
app may send its messages through it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def send(name: str, context: Mapping[str, object], to: list[str], *, quiet: bool = False) -> None:
    """Render the message `name` and send it to `to`.

    `quiet`: a failure is logged, not raised, for a message about something already done (a
    change committed, a page that must still show a new token).
    """
    values = dict(context)
    subject = " ".join(render_to_string(f"emails/{name}-subject.txt", values).split())
    text = render_to_string(f"emails/{name}-body.txt", values).strip() + "\n"
    html = render_to_string(f"emails/{name}-body.html", values)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    message.attach_alternative(html, "text/html")
    if not quiet:
        message.send()
        return
    try:
        message.send()
    except Exception:
        # Only the subject and the count: the change itself is done and committed.
        logger.exception("Could not send the notice %r to %d recipient(s)", subject, len(to))

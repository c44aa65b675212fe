"""Keeping API keys (and the e-mail address sent with requests) out of every message.

A server's error answer may repeat what it was sent: NCBI's reply to a bad key names the key,
OpenAlex's 403 echoes the request URL. Every text that comes from a server or names a request
(an error body, a connection error with its URL) goes through :func:`scrub` before it is
shown, stored or logged. It hides the values this process was configured with
(:func:`register`, called when the search configuration is loaded), in plain and URL-encoded
form, and anything shaped like a key: a ``api_key=``/``key=``/``token=``/``mailto=``/``email=``
parameter (in a URL or JSON), and a long hexadecimal or mixed letters-and-digits token.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, quote_plus

__all__ = ["REDACTED", "register", "scrub", "scrub_bytes"]

REDACTED = "[redacted]"

_LOCK = threading.Lock()
_SECRETS: set[str] = set()
_MIN_SECRET = 4
"""Shorter values are not hidden (they would blank out ordinary words)."""

_NAMES = r"api[_-]?key|apikey|access[_-]?token|token|key|secret|password|mailto|email"
# name=value in a query string or a form (value up to the next separator)
_PARAM = re.compile(rf"(?i)(\b(?:{_NAMES})\s*=\s*)[^&\s\"'<>,;)]+")
# "name": "value" in JSON (NCBI's error body carries "api-key": "...")
_JSON = re.compile(rf"(?i)(\"(?:{_NAMES}|api-key)\"\s*:\s*\")[^\"]*")
# a mailto: address (OpenAlex and Crossref's polite pool) and any e-mail address
_EMAIL = re.compile(r"(?i)\b[a-z0-9._%+-]+(?:@|%40)[a-z0-9.-]+\.[a-z]{2,}\b")
# a long run of hex digits (NCBI keys are 36 of them) or of letters and digits mixed
_HEX = re.compile(r"\b[0-9a-fA-F]{24,}\b")
_TOKEN = re.compile(r"\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{28,}\b")


def register(*values: str | None) -> None:
    """Remember configured secrets (API keys, the e-mail address) so that :func:`scrub` hides
    them wherever they appear."""
    with _LOCK:
        for value in values:
            if value and len(value.strip()) >= _MIN_SECRET:
                _SECRETS.add(value.strip())


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret, safe="")}


def scrub(text: str) -> str:
    """``text`` with every configured secret and anything shaped like a key replaced."""
    with _LOCK:
        known = sorted({form for secret in _SECRETS for form in _forms(secret)}, key=len, reverse=True)
    for form in known:
        if form in text:
            text = text.replace(form, REDACTED)
    text = _PARAM.sub(rf"\g<1>{REDACTED}", text)
    text = _JSON.sub(rf"\g<1>{REDACTED}", text)
    text = _EMAIL.sub(REDACTED, text)
    text = _HEX.sub(REDACTED, text)
    return _TOKEN.sub(REDACTED, text)


def scrub_bytes(data: bytes) -> bytes:
    """``data`` with the configured secrets replaced (only those: a kept server answer is
    evidence, so its other bytes stay as they came)."""
    with _LOCK:
        known = sorted(
            {form.encode() for secret in _SECRETS for form in _forms(secret)}, key=len, reverse=True
        )
    for form in known:
        data = data.replace(form, REDACTED.encode())
    return data

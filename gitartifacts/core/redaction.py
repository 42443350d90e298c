"""Keeping credentials out of configuration and out of everything printed.

`redact` is the one filter every message, URL and traceback passes through before it reaches
a terminal: it drops the user part of URLs, masks the values of secret-looking query
parameters and `name=value` pairs, AWS key-like strings, bearer tokens, and the values of the
credential variables of the environment. `credential_in_url` says why a URL may not be stored.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, urlsplit

MASK = "***"
# Names whose values are secrets, in query strings, `name=value` pairs and YAML-ish lines.
_SECRET_NAMES = (
    r"token|secret|password|passwd|pwd|credential|signature|sig|api[_-]?key|access[_-]?key"
    r"|session[_-]?key|private[_-]?key|auth|x-amz-security-token|x-amz-credential|key"
)
_SECRET_NAME_RE = re.compile(rf"(?:{_SECRET_NAMES})", re.I)
_USERINFO_RE = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.\-]*://)[^/\s?#@]*@")
_QUERY_PARAM_RE = re.compile(rf"([?&;][^=&\s#?]*(?:{_SECRET_NAMES})[^=&\s#?]*=)[^&\s#;]*", re.I)
_PAIR_RE = re.compile(
    r"(\b[\w.\-]*(?:token|secret|password|passwd|credential|signature|api[_-]?key"
    r"|access[_-]?key|private[_-]?key)[\w.\-]*['\"]?\s*[=:]\s*['\"]?)[^\s'\",;&)}\]]+",
    re.I,
)
_BEARER_RE = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=\-]{8,}", re.I)
_AWS_KEY_ID_RE = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")
# A 40-character base64 run with both cases: an AWS secret key (git's 40-hex names have one).
_AWS_SECRET_RE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "GITARTIFACTS_TOKEN",
)


def redact(text: str) -> str:
    """`text` (a URL, a message, a traceback) with everything secret-looking masked."""
    if not text:
        return text
    out = _USERINFO_RE.sub(r"\1", text)
    out = _QUERY_PARAM_RE.sub(rf"\1{MASK}", out)
    out = _PAIR_RE.sub(rf"\1{MASK}", out)
    out = _BEARER_RE.sub(rf"\1 {MASK}", out)
    out = _AWS_KEY_ID_RE.sub(MASK, out)
    out = _AWS_SECRET_RE.sub(_mask_mixed, out)
    for name in _SECRET_ENV:
        value = os.environ.get(name, "")
        if len(value) >= 8:
            out = out.replace(value, MASK)
    return out


def credential_in_url(url: str) -> str | None:
    """Why `url` carries a credential (a user or password part, a secret-looking query
    parameter), or None when it does not."""
    if "://" not in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return "it is not a valid URL"
    if "@" in parts.netloc:
        return "it has a user or password part"
    for name, _ in parse_qsl(parts.query, keep_blank_values=True):
        if _SECRET_NAME_RE.search(name):
            return f"its query parameter {name!r} looks like a credential"
    if _AWS_KEY_ID_RE.search(url) or redact(url) != url:
        return "it holds a key-like string"
    return None


def _mask_mixed(m: re.Match[str]) -> str:
    s = m.group(0)
    mixed = any(c.isupper() for c in s) and any(c.islower() for c in s)
    return MASK if mixed else s

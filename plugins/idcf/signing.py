"""CloudStack request signing, exactly as the server verifies it (``ApiServer.verifyRequest``).

Every parameter but ``signature``, names sorted as sent (case-sensitively) and left
unencoded, values encoded like Java's ``URLEncoder`` with ``+`` turned into ``%20``,
the whole string lower-cased, HMAC-SHA1 with the secret key, standard Base64.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote


def encode_value(value: str) -> str:
    """Java ``URLEncoder.encode(value, "UTF-8")`` with a space as ``%20``.

    Python's ``quote`` keeps ``~`` literal since 3.7 while Java escapes it, and escapes
    ``*`` while Java keeps it: ``*`` is made safe and ``~`` is escaped by hand.
    """
    return quote(value, safe="*").replace("~", "%7E")


def string_to_sign(params: Mapping[str, str]) -> str:
    pairs = (
        f"{name}={encode_value(str(params[name]))}"
        for name in sorted(params)
        if name.lower() != "signature"
    )
    return "&".join(pairs).lower()


def sign(params: Mapping[str, str], secret: str) -> str:
    """The ``signature`` parameter for ``params`` (which must hold apikey and command)."""
    import base64
    import hashlib
    import hmac

    digest = hmac.new(secret.encode(), string_to_sign(params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()

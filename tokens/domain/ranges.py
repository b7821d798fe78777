"""A token's address ranges (issue 23), as a person or an admin types them: CIDR ranges, IPv4 or
IPv6, one per line or separated by spaces or commas. Stored normalised, space-separated; checked
at use by the status rule (`tokens.domain.status.address_allowed`)."""

from __future__ import annotations

import ipaddress
import re

from tokens.domain.refusal import refuse

# A token with more ranges than this is better served by a network of its own.
MAX_RANGES = 32
FIELD = "allowed_ranges"


def normalised(text: str) -> str:
    """The ranges in `text`, normalised and space-separated ("" for none); refused, naming the
    first bad entry, when one is not a range."""
    found: list[str] = []
    for entry in re.split(r"[\s,]+", text.strip()):
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=True)
        except ValueError:
            try:
                loose = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise refuse(
                    FIELD,
                    f"“{entry[:60]}” is not an address range: write one like 203.0.113.0/24 or "
                    "2001:db8::/32 (a single address is a range too).",
                    "range_invalid",
                ) from None
            raise refuse(
                FIELD,
                f"{entry} has bits set past its prefix: did you mean {loose}?",
                "range_host_bits",
            ) from None
        if str(network) not in found:
            found.append(str(network))
    if len(found) > MAX_RANGES:
        raise refuse(FIELD, f"A token has at most {MAX_RANGES} address ranges.", "too_many_ranges")
    return " ".join(found)

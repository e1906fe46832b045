"""Kubernetes resource quantities (``250m``, ``1.5``, ``512Mi``), read as the API server reads them.

The grammar is ``resource.Quantity``'s: a signed decimal number, then a binary
suffix (Ki, Mi, Gi, Ti, Pi, Ei), a decimal one (n, u, m, k, M, G, T, P, E) or
an exponent (``e3``, ``E-2``). A number given in YAML (``cpuRequest: 2``) is a
quantity too. https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator

QUANTITY_HINT = "a Kubernetes quantity such as 250m, 0.5, 2, 512Mi or 1Gi"
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(\d+(\.\d*)?|\.\d+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$"
)
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(value: str | int | float) -> Decimal:
    """The quantity's value in base units (cores, bytes); ValueError when it is not one."""
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if match is None or isinstance(value, bool):
        raise ValueError(f"expected {QUANTITY_HINT}")
    try:
        number = Decimal(match["number"])
    except InvalidOperation:
        raise ValueError(f"expected {QUANTITY_HINT}") from None
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * (Decimal(1024) ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    if suffix:
        return number.scaleb(int(suffix[1:]))
    return number


def _canonical(value: object) -> str:
    """Numbers and strings alike become the string Kubernetes receives; others are refused."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected {QUANTITY_HINT}")
    text = str(value).strip()
    quantity = parse_quantity(text)
    if quantity < 0:
        raise ValueError(f"expected {QUANTITY_HINT}, not a negative amount")
    return text


Quantity = Annotated[str, BeforeValidator(_canonical)]

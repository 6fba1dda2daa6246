"""Currencies a fee may be quoted in: the ISO 4217 codes of money in circulation.

Left out on purpose: codes that are not money one can pay a fee in (precious metals such as
XAU, fund and accounting units such as XDR, CLF or USN, the test code XTS, XXX) and codes
withdrawn from circulation (HRK since 2023, SLL and ZWL since 2024, ANG since 2026).
"""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidInput

ISO_4217 = frozenset(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES
    KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU
    MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON
    RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND
    TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR
    ZMW ZWG
    """.split()
)


def currency(value: Any) -> str:
    """The ISO 4217 code, upper-cased; InvalidInput naming `currency` for anything else."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if code not in ISO_4217:
        raise InvalidInput(
            "currency", f"currency must be an ISO 4217 code of money in circulation, e.g. EUR (not {value!r})"
        )
    return code

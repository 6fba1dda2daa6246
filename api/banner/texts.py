"""The banner's default texts, in English and Dutch: what a site shows unless it registered its
own (a site's texts override these key by key, domain/banner_site.py checks them). Plain text:
the script inserts each with textContent. `saved` may hold `{receipt}`, the choice's receipt id.
"""

from __future__ import annotations

from typing import Any

from domain.banner_site import LANGUAGES

DEFAULTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Cookies on this site",
        "intro": "We use strictly necessary cookies to make this site work. With your "
        "permission we also use analytics cookies, to learn how the site is used, and "
        "tracking cookies, to show you relevant offers elsewhere. Nothing is switched on "
        "until you choose.",
        "necessary": "Strictly necessary",
        "necessary_detail": "Needed for the site to work (for example to remember this "
        "choice). Always on: they need no consent.",
        "analytics": "Analytics",
        "analytics_detail": "Counts visits and clicks so that we can improve the site.",
        "tracking": "Tracking",
        "tracking_detail": "Follows your visits across sites to show you relevant "
        "advertising.",
        "accept_all": "Accept all",
        "reject_all": "Reject all",
        "save": "Save my choices",
        "customise": "Choose per category",
        "close": "Close",
        "gpc_note": "Your browser asks not to be tracked (Global Privacy Control): tracking "
        "is refused.",
        "privacy_link": "Privacy notice",
        "saved": "Your choice was saved (receipt {receipt}).",
    },
    "nl": {
        "title": "Cookies op deze site",
        "intro": "We gebruiken strikt noodzakelijke cookies om deze site te laten werken. "
        "Met uw toestemming gebruiken we ook analytische cookies, om te leren hoe de site "
        "gebruikt wordt, en trackingcookies, om u elders relevante aanbiedingen te tonen. "
        "Niets staat aan tot u kiest.",
        "necessary": "Strikt noodzakelijk",
        "necessary_detail": "Nodig om de site te laten werken (bijvoorbeeld om deze keuze "
        "te onthouden). Altijd aan: hiervoor is geen toestemming nodig.",
        "analytics": "Analytisch",
        "analytics_detail": "Telt bezoeken en klikken, zodat we de site kunnen verbeteren.",
        "tracking": "Tracking",
        "tracking_detail": "Volgt uw bezoeken over sites heen om u relevante advertenties "
        "te tonen.",
        "accept_all": "Alles accepteren",
        "reject_all": "Alles weigeren",
        "save": "Mijn keuze opslaan",
        "customise": "Per categorie kiezen",
        "close": "Sluiten",
        "gpc_note": "Uw browser vraagt om niet gevolgd te worden (Global Privacy Control): "
        "tracking wordt geweigerd.",
        "privacy_link": "Privacyverklaring",
        "saved": "Uw keuze is opgeslagen (bewijs {receipt}).",
    },
}


def merged(overrides: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Every text in every language: the site's own where it has one, else the default."""
    return {
        language: {**DEFAULTS[language], **overrides.get(language, {})}
        for language in LANGUAGES
    }

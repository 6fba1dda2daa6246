"""Everything the privacy center says, in English and Dutch, and which of the two a page is in.

A page's language is `?lang=` when it names one we write, else the browser's Accept-Language,
else English (api/notifications/mail.py `language_of` decides what counts as Dutch). To
change a wording, edit it here; the templates (api/templates/privacy_center/) only place
them.
"""

from __future__ import annotations

from api.notifications.mail import DEFAULT_LANGUAGE, LANGUAGES, language_of

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "center": "Privacy center",
        "switch": "Nederlands",
        "sign_in_title": "See and manage your data",
        "sign_in_lead": "Enter your e-mail address. If we hold records for it, we send you a "
        "link that opens your privacy center: it works once, for {minutes} minutes.",
        "email": "E-mail address",
        "send_link": "Send me a link",
        "sent_title": "Check your mail",
        "sent": "If we know this address, a link is on its way. It works once, for {minutes} "
        "minutes. No mail? Then we hold no records for this address, or it was mistyped.",
        "no_mail": "Signing in by e-mail is not available here. Write to {contact} to "
        "exercise your rights.",
        "bad_email": "That is not an e-mail address we can send a link to (email).",
        "form_expired": "This form had expired or was not sent by this page, so nothing was "
        "done. Please try again.",
        "too_many": "Too many links were asked for. Please wait {minutes} minutes and try again.",
        "continue_title": "Open your privacy center",
        "continue_lead": "This link works once. Continue to open your privacy center.",
        "continue": "Continue",
        "link_invalid": "This link is not valid: it was altered or cut short.",
        "link_expired": "This link has expired.",
        "link_used": "This link was used already: each link works once.",
        "ask_again": "Ask for a new link",
        "session_ended": "Your session has ended, so nothing was done. Ask for a new link.",
        "sign_out": "Sign out",
        "signed_out": "You are signed out.",
        "me_title": "Your data",
        "me_lead": "What we record about you, and what you may ask of us.",
        "no_records": "We hold no records for this address (any more).",
        "record": "Record",
        "held_by": "Held for",
        "consents": "Your consents",
        "consents_lead": "Nothing is switched on unless you said yes. Say no again at any "
        "time, as easily as you said yes. Recorded with privacy notice version {version}.",
        "purpose": "Purpose",
        "status": "Status",
        "channels": "Per channel",
        "change": "Change",
        "given": "given",
        "withdrawn": "withdrawn",
        "never": "not given",
        "give": "Give",
        "withdraw": "Withdraw",
        "every_channel": "every channel",
        "channel": "Channel",
        "consent_saved": "Your choice was recorded.",
        "export": "Download your data",
        "export_lead": "Everything we hold about you, as a file. The download is recorded as "
        "the answer to an access request.",
        "format": "Format",
        "download": "Download",
        "requests": "Your requests",
        "request_lead": "Ask us to show, correct, erase or hand over your data, or object "
        "to its use. We answer within one month.",
        "kind": "Request",
        "details": "Details (optional)",
        "file_request": "Send request",
        "request_filed": "Your request was received; its due date is in the list below.",
        "received": "Received",
        "due": "Due",
        "none_yet": "No requests yet.",
        "closed": "The organisation holding this record has ended its service, so nothing "
        "can be changed here: {reason}",
        "refused": "That could not be done: {reason}",
        "not_yours": "That record is not one of yours.",
        "privacy_notice": "Privacy notice",
        "unknown_parameter": "This page does not take {names} in its address.",
        "problem": "{reason}",
        "session_until": "Your session ends {until}.",
        "mail_subject": "Your link to the privacy center",
        "mail_greeting": "Hello,",
        "mail_intro": "Someone (we hope you) asked for a link to see and manage the data we "
        "hold about this address. The link works once, until {until}.",
        "mail_action": "Open your privacy center",
        "mail_outro": "Did not ask for it? Then ignore this message: nothing happens "
        "without the link.",
    },
    "nl": {
        "center": "Privacycentrum",
        "switch": "English",
        "sign_in_title": "Uw gegevens inzien en beheren",
        "sign_in_lead": "Vul uw e-mailadres in. Als wij gegevens bij dat adres bewaren, sturen "
        "wij u een link naar uw privacycentrum: die werkt één keer, {minutes} minuten lang.",
        "email": "E-mailadres",
        "send_link": "Stuur mij een link",
        "sent_title": "Kijk in uw mail",
        "sent": "Als wij dit adres kennen, is er een link onderweg. Die werkt één keer, "
        "{minutes} minuten lang. Geen mail? Dan bewaren wij niets bij dit adres, of er zit "
        "een typefout in.",
        "no_mail": "Inloggen per e-mail kan hier niet. Schrijf naar {contact} om uw rechten "
        "uit te oefenen.",
        "bad_email": "Naar dit e-mailadres kunnen wij geen link sturen (email).",
        "form_expired": "Dit formulier was verlopen of kwam niet van deze pagina; er is niets "
        "gedaan. Probeer het opnieuw.",
        "too_many": "Er zijn te veel links aangevraagd. Wacht {minutes} minuten en probeer het "
        "opnieuw.",
        "continue_title": "Uw privacycentrum openen",
        "continue_lead": "Deze link werkt één keer. Ga verder om uw privacycentrum te openen.",
        "continue": "Verder",
        "link_invalid": "Deze link is niet geldig: hij is gewijzigd of afgebroken.",
        "link_expired": "Deze link is verlopen.",
        "link_used": "Deze link is al gebruikt: elke link werkt één keer.",
        "ask_again": "Vraag een nieuwe link aan",
        "session_ended": "Uw sessie is verlopen; er is niets gedaan. Vraag een nieuwe link aan.",
        "sign_out": "Uitloggen",
        "signed_out": "U bent uitgelogd.",
        "me_title": "Uw gegevens",
        "me_lead": "Wat wij over u vastleggen, en wat u van ons mag vragen.",
        "no_records": "Wij bewaren (niet langer) gegevens bij dit adres.",
        "record": "Gegevens",
        "held_by": "Bewaard voor",
        "consents": "Uw toestemmingen",
        "consents_lead": "Niets staat aan tenzij u ja zei. U kunt altijd weer nee zeggen, even "
        "makkelijk als u ja zei. Vastgelegd met versie {version} van de privacyverklaring.",
        "purpose": "Doel",
        "status": "Stand",
        "channels": "Per kanaal",
        "change": "Wijzigen",
        "given": "gegeven",
        "withdrawn": "ingetrokken",
        "never": "niet gegeven",
        "give": "Geven",
        "withdraw": "Intrekken",
        "every_channel": "alle kanalen",
        "channel": "Kanaal",
        "consent_saved": "Uw keuze is vastgelegd.",
        "export": "Uw gegevens downloaden",
        "export_lead": "Alles wat wij over u bewaren, als bestand. De download wordt "
        "vastgelegd als antwoord op een inzageverzoek.",
        "format": "Formaat",
        "download": "Downloaden",
        "requests": "Uw verzoeken",
        "request_lead": "Vraag ons uw gegevens te tonen, te verbeteren, te verwijderen of over "
        "te dragen, of maak bezwaar tegen het gebruik ervan. Wij antwoorden binnen een maand.",
        "kind": "Verzoek",
        "details": "Toelichting (niet verplicht)",
        "file_request": "Verzoek versturen",
        "request_filed": "Uw verzoek is ontvangen; de uiterste datum staat in de lijst hieronder.",
        "received": "Ontvangen",
        "due": "Uiterlijk",
        "none_yet": "Nog geen verzoeken.",
        "closed": "De organisatie die deze gegevens bewaart, is gestopt met de dienst; hier "
        "kan niets worden gewijzigd: {reason}",
        "refused": "Dat kon niet: {reason}",
        "not_yours": "Die gegevens zijn niet van u.",
        "privacy_notice": "Privacyverklaring",
        "unknown_parameter": "Deze pagina kent {names} in het adres niet.",
        "problem": "{reason}",
        "session_until": "Uw sessie eindigt {until}.",
        "mail_subject": "Uw link naar het privacycentrum",
        "mail_greeting": "Goedendag,",
        "mail_intro": "Iemand (hopelijk u) vroeg om een link om de gegevens die wij bij dit "
        "adres bewaren in te zien en te beheren. De link werkt één keer, tot {until}.",
        "mail_action": "Open uw privacycentrum",
        "mail_outro": "Niet aangevraagd? Negeer dit bericht dan: zonder de link gebeurt er niets.",
    },
}

PURPOSES = {
    "en": {
        "info_mail": "Information mail", "product_mail": "Product mail",
        "blog_mail": "Blog mail", "analytics_cookies": "Analytics cookies",
        "tracking_cookies": "Tracking cookies", "profiling": "Profiling",
        "third_party_marketing": "Marketing by third parties",
        "market_research": "Market research",
    },
    "nl": {
        "info_mail": "Informatieve mail", "product_mail": "Productmail",
        "blog_mail": "Blogmail", "analytics_cookies": "Analytische cookies",
        "tracking_cookies": "Trackingcookies", "profiling": "Profilering",
        "third_party_marketing": "Marketing door derden",
        "market_research": "Marktonderzoek",
    },
}
KINDS = {
    "en": {"access": "access", "rectification": "rectification", "erasure": "erasure",
           "portability": "data portability", "objection": "objection"},
    "nl": {"access": "inzage", "rectification": "rectificatie", "erasure": "verwijdering",
           "portability": "gegevensoverdraagbaarheid", "objection": "bezwaar"},
}
STATUSES = {
    "en": {"received": "received", "verified": "being handled", "quoted": "fee quoted",
           "quote_accepted": "fee accepted", "fulfilled": "done", "rejected": "rejected",
           "declined": "fee declined"},
    "nl": {"received": "ontvangen", "verified": "in behandeling", "quoted": "kosten geoffreerd",
           "quote_accepted": "kosten aanvaard", "fulfilled": "afgehandeld",
           "rejected": "afgewezen", "declined": "kosten afgewezen"},
}
CHANNELS = {
    "en": {"email": "e-mail", "sms": "SMS", "phone": "phone", "post": "post", "web": "web",
           "app": "app", "in_person": "in person"},
    "nl": {"email": "e-mail", "sms": "sms", "phone": "telefoon", "post": "post", "web": "web",
           "app": "app", "in_person": "persoonlijk"},
}


def language(asked: str | None, accept_language: str | None) -> str:
    """`?lang=` when it is one we write, else the browser's first language we write."""
    if asked in LANGUAGES:
        return asked
    for part in (accept_language or "").split(",")[:10]:
        tag = part.split(";")[0].strip()
        if tag and language_of(tag) != DEFAULT_LANGUAGE or tag.lower().startswith("en"):
            return language_of(tag)
    return DEFAULT_LANGUAGE


def words(lang: str) -> dict[str, str]:
    return WORDS[lang]

"""Plain-language names of the analysis signals, for reviewers and submitters."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

PERSONAL_DATA = {
    "email": _("an email address"),
    "phone": _("a phone number"),
    "iban": _("an IBAN"),
    "nir": _("a French social security number (NIR)"),
    "card": _("a payment card number"),
    "ip": _("an IP address"),
}

QUALITY = {
    "too_short": _("fewer than 50 words"),
    "too_long": _("more than 100,000 words"),
    "symbol_ratio": _("many symbols (# or ellipses) for its words"),
    "ellipsis_lines": _("many lines ending with an ellipsis"),
    "bullet_lines": _("almost only bullet lines"),
    "non_alpha_words": _("many words without letters"),
    "word_length": _("unusual mean word length"),
    "repeated_lines": _("many repeated lines"),
    "repeated_ngrams": _("one word pair repeated throughout"),
    "no_stop_words": _("hardly any common words of its language"),
    "lorem_ipsum": _("placeholder text (lorem ipsum)"),
    "javascript": _("mentions of JavaScript (web page residue)"),
    "cookie_boilerplate": _("cookie banner text"),
    "curly_braces": _("curly braces (code or templates)"),
    "low_punctuation": _("few lines ending with punctuation"),
    "short_lines": _("mostly very short lines"),
    "mixed_language": _("no language holds a clear majority of the text"),
}

"""The name of every language the analysis can find, in the reader's language.

The analysis (analysis/text.py) returns any code its fastText model knows
(lid.176: 176 languages), or ``und`` when it cannot tell. Django names and
translates most of them (``django.conf.locale.LANG_INFO``); the others are
named here.
"""

from __future__ import annotations

from django.conf.locale import LANG_INFO
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from .models import LANGUAGES

# The labels of analysis/text.py's model, as its file lists them
# (tests/test_untranslated.py checks them against the model).
DETECTED = """
    af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce ceb ckb co cs cv cy
    da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl gn gom gu gv he hi hif hr hsb ht hu hy
    ia id ie ilo io is it ja jbo jv ka kk km kn ko krc ku kv kw ky la lb lez li lmo lo lrc lt lv mai mg mhr min
    mk ml mn mr mrj ms mt mwl my myv mzn nah nap nds ne new nl nn no oc or os pa pam pfl pl pms pnb ps pt qu rm
    ro ru rue sa sah sc scn sco sd sh si sk sl so sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk ur uz vec vep
    vi vls vo wa war wuu xal xmf yi yo yue zh
""".split()

# The languages Django does not name (or does not translate), and "und";
# those a corpus can declare are named by LANGUAGES.
OTHER_NAMES = {
    "als": _("Alemannic"),
    "am": _("Amharic"),
    "an": _("Aragonese"),
    "arz": _("Egyptian Arabic"),
    "as": _("Assamese"),
    "av": _("Avar"),
    "azb": _("South Azerbaijani"),
    "ba": _("Bashkir"),
    "bar": _("Bavarian"),
    "bcl": _("Central Bikol"),
    "bh": _("Bihari"),
    "bo": _("Tibetan"),
    "bpy": _("Bishnupriya"),
    "bxr": _("Buryat"),
    "cbk": _("Chavacano"),
    "ce": _("Chechen"),
    "ceb": _("Cebuano"),
    "cv": _("Chuvash"),
    "diq": _("Zazaki"),
    "dty": _("Doteli"),
    "dv": _("Divehi"),
    "eml": _("Emilian-Romagnol"),
    "frr": _("North Frisian"),
    "gn": _("Guarani"),
    "gom": _("Goan Konkani"),
    "gu": _("Gujarati"),
    "gv": _("Manx"),
    "hif": _("Fiji Hindi"),
    "ht": _("Haitian Creole"),
    "ie": _("Interlingue"),
    "ilo": _("Ilocano"),
    "jbo": _("Lojban"),
    "jv": _("Javanese"),
    "krc": _("Karachay-Balkar"),
    "ku": _("Kurdish"),
    "kv": _("Komi"),
    "kw": _("Cornish"),
    "la": _("Latin"),
    "lez": _("Lezgian"),
    "li": _("Limburgish"),
    "lmo": _("Lombard"),
    "lo": _("Lao"),
    "lrc": _("Northern Luri"),
    "mai": _("Maithili"),
    "mg": _("Malagasy"),
    "mhr": _("Eastern Mari"),
    "min": _("Minangkabau"),
    "mrj": _("Western Mari"),
    "mwl": _("Mirandese"),
    "myv": _("Erzya"),
    "mzn": _("Mazanderani"),
    "nah": _("Nahuatl"),
    "nap": _("Neapolitan"),
    "nds": _("Low German"),
    "new": _("Newari"),
    "no": _("Norwegian"),
    "or": _("Odia"),
    "pam": _("Kapampangan"),
    "pfl": _("Palatine German"),
    "pms": _("Piedmontese"),
    "pnb": _("Western Punjabi"),
    "ps": _("Pashto"),
    "qu": _("Quechua"),
    "rm": _("Romansh"),
    "rue": _("Rusyn"),
    "sa": _("Sanskrit"),
    "sah": _("Yakut"),
    "sc": _("Sardinian"),
    "scn": _("Sicilian"),
    "sco": _("Scots"),
    "sd": _("Sindhi"),
    "sh": _("Serbo-Croatian"),
    "si": _("Sinhala"),
    "so": _("Somali"),
    "su": _("Sundanese"),
    "tl": _("Tagalog"),
    "tyv": _("Tuvan"),
    "vec": _("Venetian"),
    "vep": _("Veps"),
    "vls": _("West Flemish"),
    "vo": _("Volapük"),
    "wa": _("Walloon"),
    "war": _("Waray"),
    "wuu": _("Wu Chinese"),
    "xal": _("Kalmyk"),
    "xmf": _("Mingrelian"),
    "yi": _("Yiddish"),
    "yo": _("Yoruba"),
    "yue": _("Cantonese"),
    "zh": _("Chinese"),
    "und": _("Undetermined"),
}
_DECLARED = dict(LANGUAGES)


def language_label(code: str) -> str:
    """``code``'s name in the active language; an unknown code as it is."""
    if name := _DECLARED.get(code) or OTHER_NAMES.get(code):
        return str(name)
    if code in LANG_INFO:
        return str(get_language_info(code)["name_translated"])
    return code


def language_name(code: str) -> str:
    """How pages show a language: its name and its code ("Serbe (sr)")."""
    name = language_label(code)
    return f"{name} ({code})" if name != code else code

"""Language codes and their per-family spellings; language detection.

One table maps an ISO 639-1 code to the spelling each model family expects, so that the rest of
the code only ever handles plain codes such as ``ko`` or ``uk``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from workbench.errors import LanguageError


@dataclass(frozen=True)
class Lang:
    """One language and its spelling in every supported model family."""

    code: str  # ISO 639-1, the code users type
    name: str
    iso3: str  # ISO 639-3: Marian multi-target prefix >>xxx<<
    nllb: str  # NLLB-200 (FLORES-200 code)
    mbart: str | None  # mBART-50, where covered
    lingua: str  # lingua.Language member name
    m2m100: bool = True  # M2M100 covers it as __code__


# fmt: off
_TABLE: tuple[Lang, ...] = (
    Lang("ar", "Arabic", "ara", "arb_Arab", "ar_AR", "ARABIC"),
    Lang("be", "Belarusian", "bel", "bel_Cyrl", None, "BELARUSIAN"),
    Lang("bn", "Bengali", "ben", "ben_Beng", "bn_IN", "BENGALI"),
    Lang("bg", "Bulgarian", "bul", "bul_Cyrl", None, "BULGARIAN"),
    Lang("cs", "Czech", "ces", "ces_Latn", "cs_CZ", "CZECH"),
    Lang("da", "Danish", "dan", "dan_Latn", None, "DANISH"),
    Lang("de", "German", "deu", "deu_Latn", "de_DE", "GERMAN"),
    Lang("el", "Greek", "ell", "ell_Grek", None, "GREEK"),
    Lang("en", "English", "eng", "eng_Latn", "en_XX", "ENGLISH"),
    Lang("es", "Spanish", "spa", "spa_Latn", "es_XX", "SPANISH"),
    Lang("et", "Estonian", "est", "est_Latn", "et_EE", "ESTONIAN"),
    Lang("fa", "Persian", "fas", "pes_Arab", "fa_IR", "PERSIAN"),
    Lang("fi", "Finnish", "fin", "fin_Latn", "fi_FI", "FINNISH"),
    Lang("fr", "French", "fra", "fra_Latn", "fr_XX", "FRENCH"),
    Lang("he", "Hebrew", "heb", "heb_Hebr", "he_IL", "HEBREW"),
    Lang("hi", "Hindi", "hin", "hin_Deva", "hi_IN", "HINDI"),
    Lang("hr", "Croatian", "hrv", "hrv_Latn", "hr_HR", "CROATIAN"),
    Lang("hu", "Hungarian", "hun", "hun_Latn", None, "HUNGARIAN"),
    Lang("id", "Indonesian", "ind", "ind_Latn", "id_ID", "INDONESIAN"),
    Lang("it", "Italian", "ita", "ita_Latn", "it_IT", "ITALIAN"),
    Lang("ja", "Japanese", "jpn", "jpn_Jpan", "ja_XX", "JAPANESE"),
    Lang("ka", "Georgian", "kat", "kat_Geor", "ka_GE", "GEORGIAN"),
    Lang("kk", "Kazakh", "kaz", "kaz_Cyrl", "kk_KZ", "KAZAKH"),
    Lang("ko", "Korean", "kor", "kor_Hang", "ko_KR", "KOREAN"),
    Lang("lt", "Lithuanian", "lit", "lit_Latn", "lt_LT", "LITHUANIAN"),
    Lang("lv", "Latvian", "lav", "lvs_Latn", "lv_LV", "LATVIAN"),
    Lang("ms", "Malay", "msa", "zsm_Latn", None, "MALAY"),
    Lang("nl", "Dutch", "nld", "nld_Latn", "nl_XX", "DUTCH"),
    Lang("pl", "Polish", "pol", "pol_Latn", "pl_PL", "POLISH"),
    Lang("pt", "Portuguese", "por", "por_Latn", "pt_XX", "PORTUGUESE"),
    Lang("ro", "Romanian", "ron", "ron_Latn", "ro_RO", "ROMANIAN"),
    Lang("ru", "Russian", "rus", "rus_Cyrl", "ru_RU", "RUSSIAN"),
    Lang("sk", "Slovak", "slk", "slk_Latn", None, "SLOVAK"),
    Lang("sl", "Slovenian", "slv", "slv_Latn", "sl_SI", "SLOVENE"),
    Lang("sr", "Serbian", "srp", "srp_Cyrl", None, "SERBIAN"),
    Lang("sv", "Swedish", "swe", "swe_Latn", "sv_SE", "SWEDISH"),
    Lang("th", "Thai", "tha", "tha_Thai", "th_TH", "THAI"),
    Lang("tr", "Turkish", "tur", "tur_Latn", "tr_TR", "TURKISH"),
    Lang("ur", "Urdu", "urd", "urd_Arab", "ur_PK", "URDU"),
    Lang("uk", "Ukrainian", "ukr", "ukr_Cyrl", "uk_UA", "UKRAINIAN"),
    Lang("vi", "Vietnamese", "vie", "vie_Latn", "vi_VN", "VIETNAMESE"),
    Lang("zh", "Chinese", "zho", "zho_Hans", "zh_CN", "CHINESE"),
)
# fmt: on

LANGUAGES: dict[str, Lang] = {lang.code: lang for lang in _TABLE}

#: Scripts written without spaces between words or sentences: split text is joined without one,
#: and a sentence break without whitespace is normal there.
UNSPACED: frozenset[str] = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo"})

# Spellings users commonly type for the same language.
_ALIASES: dict[str, str] = {
    **{lang.iso3: lang.code for lang in _TABLE},
    **{lang.nllb.lower(): lang.code for lang in _TABLE},
    **{lang.name.lower(): lang.code for lang in _TABLE},
    **{lang.mbart.lower(): lang.code for lang in _TABLE if lang.mbart},
    "kr": "ko",
    "ua": "uk",
    "ukr": "uk",
    "zh-cn": "zh",
    "zh-hans": "zh",
    "pt-br": "pt",
}


def supported_codes() -> list[str]:
    """All ISO 639-1 codes workbench knows, sorted."""
    return sorted(LANGUAGES)


def normalize(code: str) -> str:
    """Return the ISO 639-1 code for ``code`` (``KO``, ``kor``, ``kor_Hang``, ``Korean`` → ``ko``).

    Raises LanguageError naming the code and listing the supported ones.
    """
    key = code.strip().lower().replace("_", "-") if code else ""
    if key in LANGUAGES:
        return key
    for candidate in (key, key.replace("-", "_")):
        if candidate in _ALIASES:
            return _ALIASES[candidate]
    raise LanguageError(
        f"unknown language code {code!r}; supported: {', '.join(supported_codes())}", code=code
    )


def parse_list(value: str) -> list[str]:
    """Parse a comma-separated list of language codes, keeping order and dropping repeats."""
    codes: list[str] = []
    for part in value.split(","):
        if part.strip():
            code = normalize(part)
            if code not in codes:
                codes.append(code)
    if not codes:
        raise LanguageError(f"no language given in {value!r}; pass codes such as ko,uk")
    return codes


def get(code: str) -> Lang:
    """The table row for a code in any accepted spelling."""
    return LANGUAGES[normalize(code)]


@lru_cache(maxsize=16)
def _detector(codes: tuple[str, ...]):  # -> lingua.LanguageDetector
    # Restricting the detector to the languages in play keeps it fast, small and accurate:
    # all 75 languages cost over a gigabyte of memory and confuse close languages.
    from lingua import Language, LanguageDetectorBuilder

    members = [getattr(Language, LANGUAGES[c].lingua) for c in codes]
    if len(members) == 1:
        members = [*members, Language.ENGLISH if codes[0] != "en" else Language.GERMAN]
    return LanguageDetectorBuilder.from_languages(*members).build()


def detect(text: str, candidates: list[str] | None = None) -> str | None:
    """Detect the language of ``text`` among ``candidates`` (default: every known language).

    Returns an ISO 639-1 code, or None when the text has no letters to go on.
    """
    if not any(ch.isalpha() for ch in text):
        return None
    codes = (
        tuple(sorted({normalize(c) for c in candidates}))
        if candidates
        else tuple(supported_codes())
    )
    # Upper-case text confuses n-gram detectors; the case carries no language information.
    found = _detector(codes).detect_language_of(text.lower())
    if found is None:
        return None
    for lang in _TABLE:
        if lang.lingua == found.name:
            return lang.code
    return None


#: Letters a text needs before its language is checked: a shorter text is only guessed at.
MIN_CHECK_LETTERS = 20
#: How sure the detector must be before it contradicts a language the user gave (`--from`):
#: the best guess at least this confident, the given language at most ``DOUBT``.
SURE = 0.9
DOUBT = 0.05


def letters(text: str) -> int:
    """How many letters ``text`` has (what a language check goes on)."""
    return sum(ch.isalpha() for ch in text)


def confidences(text: str, candidates: list[str] | None = None) -> list[tuple[str, float]]:
    """Each candidate's confidence (0..1, summing to 1) that ``text`` is in it, best first."""
    if not any(ch.isalpha() for ch in text):
        return []
    codes = (
        tuple(sorted({normalize(c) for c in candidates}))
        if candidates
        else tuple(supported_codes())
    )
    by_lingua = {lang.lingua: lang.code for lang in _TABLE}
    values = _detector(codes).compute_language_confidence_values(text.lower())
    return [(by_lingua[v.language.name], v.value) for v in values if v.language.name in by_lingua]


def contradicts(text: str, claimed: str, candidates: list[str]) -> str | None:
    """The language ``text`` clearly is when that is not ``claimed``, else None.

    Clearly: enough letters to go on, the detector's best guess at least ``SURE`` and the
    claimed language at most ``DOUBT``. A user's ``--from`` is only questioned then.
    """
    if letters(text) < MIN_CHECK_LETTERS:
        return None
    claimed = normalize(claimed)
    scores = confidences(text, [*candidates, claimed])
    if not scores:
        return None
    best, value = scores[0]
    given = dict(scores).get(claimed, 0.0)
    return best if best != claimed and value >= SURE and given <= DOUBT else None


#: Languages source detection chooses among (plus the run's target languages). Keeping the set
#: small keeps lingua fast and avoids confusing close languages; `--from` overrides detection.
DETECT_AMONG: tuple[str, ...] = (
    "ar",
    "de",
    "en",
    "es",
    "fr",
    "it",
    "ja",
    "ko",
    "nl",
    "pl",
    "pt",
    "ru",
    "tr",
    "uk",
    "zh",
)

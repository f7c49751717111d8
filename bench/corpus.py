"""A deterministic corpus of English news-style sentences for the speed benchmark.

Sentences are composed from templates and word lists written for this benchmark, with a
realistic length spread (5–60 words, most between 12 and 35). They avoid abbreviations,
decimals and quotes so that every sentence is exactly one segment for workbench's splitter,
which lets every benchmark row translate the same units.
"""

from __future__ import annotations

import random
from pathlib import Path

MIN_WORDS, MAX_WORDS = 5, 60

SUBJECTS = (
    "The city council",
    "Regional health officials",
    "The national weather service",
    "A spokesperson for the ministry",
    "Local farmers",
    "The central bank",
    "Residents of the coastal town",
    "Engineers at the port authority",
    "The football club",
    "Teachers in the northern province",
    "The opposition party",
    "Rescue teams",
    "The energy regulator",
    "Scientists at the state university",
    "The transport minister",
    "Hospital managers",
    "A group of small business owners",
    "The railway operator",
    "Volunteers from the fire brigade",
    "The prime minister",
    "Union leaders",
    "The public broadcaster",
    "Police in the capital",
    "The airport operator",
    "A panel of independent experts",
    "The housing agency",
    "Fishermen along the bay",
    "The education department",
    "The water utility",
    "Shop owners in the old town",
)
SHORT_SUBJECTS = (
    "Police",
    "Officials",
    "The mayor",
    "Investors",
    "Voters",
    "Doctors",
    "The company",
    "Farmers",
    "Residents",
    "The team",
    "Analysts",
    "The court",
    "Firefighters",
    "Critics",
)
VERBS = (
    "approved",
    "announced",
    "rejected",
    "delayed",
    "warned about",
    "welcomed",
    "criticised",
    "reported",
    "postponed",
    "confirmed",
    "proposed",
    "investigated",
    "celebrated",
    "expanded",
    "reviewed",
    "defended",
    "questioned",
    "promised",
)
OBJECTS = (
    "a new budget for public transport",
    "plans to build a second bridge",
    "the results of the annual survey",
    "a sharp rise in housing prices",
    "the closure of two rural schools",
    "a programme to plant trees along the river",
    "the price of electricity for households",
    "new rules for short term rentals",
    "a shortage of nurses in small hospitals",
    "the cost of repairing the old harbour wall",
    "a plan to extend the tram line to the airport",
    "the sale of the former steel works",
    "higher fees for parking in the city centre",
    "the first stage of the flood defences",
    "a pilot scheme for free school meals",
    "the merger of the two regional airlines",
    "record numbers of visitors to the national park",
    "delays to the new metro stations",
    "an increase in the minimum wage",
    "a ban on fishing during the spawning season",
)
MODIFIERS = (
    "on Tuesday",
    "after a long debate",
    "in the northern region",
    "according to a statement released this morning",
    "despite protests from local residents",
    "for the third time this year",
    "as temperatures continued to rise",
    "following heavy rain over the weekend",
    "in a vote of nine to four",
    "at a press conference in the capital",
    "while negotiations with the unions continue",
    "before the start of the summer holidays",
    "amid growing concern about rising costs",
    "with the support of several neighbouring towns",
    "in a report published on Monday",
    "after months of talks with the government",
    "earlier than many had expected",
    "in response to questions from reporters",
    "during a visit to the construction site",
    "as part of a wider effort to cut emissions",
    "without giving further details",
    "for the first time in more than a decade",
    "late on Friday evening",
)
SHORT_PREDICATES = (
    "declined to comment",
    "expect more rain",
    "welcomed the decision",
    "are investigating the fire",
    "remain cautious",
    "will meet again next week",
    "praised the rescue teams",
    "rejected the offer",
    "called for calm",
    "denied any wrongdoing",
)
CONJUNCTIONS = ("and", "but", "while", "although", "because")


def _clause(rng: random.Random) -> list[str]:
    words = [*rng.choice(SUBJECTS).split(), *rng.choice(VERBS).split()]
    return [*words, *rng.choice(OBJECTS).split()]


def _candidate(rng: random.Random, target: int) -> list[str]:
    if target <= 8:
        return [*rng.choice(SHORT_SUBJECTS).split(), *rng.choice(SHORT_PREDICATES).split()]
    words = _clause(rng)
    unused = list(MODIFIERS)
    while len(words) < target:
        if rng.random() < 0.3:
            words[-1] += ","
            clause = _clause(rng)
            clause[0] = clause[0].lower() if clause[0] in ("The", "A") else clause[0]
            words += [rng.choice(CONJUNCTIONS), *clause]
        elif unused:
            words += unused.pop(rng.randrange(len(unused))).split()
    return words


def sentence(rng: random.Random, target: int) -> str:
    """One sentence of about ``target`` words (always within 5–60)."""
    best: list[str] = []
    for _ in range(12):
        words = _candidate(rng, target)
        if MIN_WORDS <= len(words) <= MAX_WORDS and (
            not best or abs(len(words) - target) < abs(len(best) - target)
        ):
            best = words
    if not best:  # cannot happen with these lists; keeps the bound explicit
        best = _clause(rng)[:MAX_WORDS]
    text = " ".join(best)
    return text[0].upper() + text[1:] + "."


def sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct sentences; lengths follow a triangular law on 5–60 words (mode 14)."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        target = round(rng.triangular(MIN_WORDS, MAX_WORDS, 14))
        text = sentence(rng, target)
        if text not in seen:  # distinct, so the pipeline's de-duplication changes nothing
            seen.add(text)
            out.append(text)
    return out


def write_articles(
    texts: list[str], folder: Path, per_article: int = 25, seed: int = 0
) -> list[Path]:
    """Write the sentences as .txt articles: paragraphs of 1–4 sentences, blank-line separated."""
    rng = random.Random(seed + 1)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for a, start in enumerate(range(0, len(texts), per_article)):
        chunk = texts[start : start + per_article]
        paragraphs: list[str] = []
        i = 0
        while i < len(chunk):
            k = rng.randint(1, 4)
            paragraphs.append(" ".join(chunk[i : i + k]))
            i += k
        path = folder / f"article-{a:03d}.txt"
        path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
        paths.append(path)
    return paths

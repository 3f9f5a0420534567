"""One answering path for the console, `pasokh ask` and Telegram.

An answer is one or two sentences copied verbatim from the retrieved passages,
chosen by their own fit to the question (cosine to the question, and how much of
the question's weight-bearing words they contain), not only by the rank of the
passage they sit in. Then its sources. Nothing is generated unless a language
model is configured, and then only from the cited sentences (see bot.llm).

The answer is declined when the passages do not carry the question's rare words
(a name or a subject the articles never mention) or when even the best sentence
is far from the question. When two articles answer with different sentences and
the question does not say which one it means (both seed trips had a delegation),
both are shown, each with its own date and source.
"""

from __future__ import annotations

import copy
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from bot.conversation import Conversation, Turn, resolve
from index.dates import date_variants
from index.persian import content_stems, matching_tokens, sentence_spans, word_tokens
from index.search import KnowledgeBase, Passage

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

ANSWER_MAX_CHARS = 400
LIST_ANSWER_MAX_CHARS = 900
CANDIDATE_PASSAGES = 4
# Calibrated on ../shared/eval/dev_seed_qa.jsonl and the declined examples of the
# answers issue (see tests/bot/test_answering.py): every answerable dev question
# stays well above both, every out-of-corpus one falls below one of them.
SURE_COVERAGE = 0.8  # the passages hold (nearly) all the question's weight: answer
MIN_COVERAGE = 0.4  # below: the question is about something else: decline
MIN_SENTENCE_COSINE = 0.85  # in between, the best sentence must be this close
# A second article's best sentence within this much of the best one, on a question
# that does not single out either article, is shown as another report.
SECOND_REPORT_MARGIN = 0.04
# …and only when the two sentences say the same kind of thing (two delegations: cosine
# 0.92 between them; a sentence naming Lavrov and another naming him on another matter:
# 0.87; e5's cosines are compressed into a narrow band).
PARALLEL_SENTENCE_COSINE = 0.89
_LIST_QUESTION_RE = re.compile(
    r"چه کسانی|چه افرادی|کدام افراد|چه کسی‌ها|اسامی|نام (?:افراد|اعضا)|همراهان|فهرست|"
    r"اعضای|چه کشورهایی|کدام کشورها|چه موضوعاتی|کدام موضوعات|چه مسائلی"
)
_QUESTION_WEIGHT, _COVERAGE_WEIGHT, _RANK_WEIGHT = 1.0, 0.12, 0.02
_LIST_BONUS = 0.01  # per enumeration comma, up to five, on "who accompanied…" questions
# A sentence next to the best one joins the answer when it adds this much of the
# question's weight ("…چهارمین سفر… . او … برای سومین بار…") and scores nearly as well.
NEIGHBOUR_GAIN, NEIGHBOUR_MARGIN = 0.25, 0.08


@dataclass
class AnswerPart:
    """One verbatim excerpt and where it comes from."""

    text: str
    article_id: str
    title: str
    source: str
    date: str
    passage: Passage
    score: float
    url: str = ""  # the article's (canonical) URL; "" for an article read from a file

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "date": self.date,
            "url": self.url,
            "supporting_passage": self.passage.text,
        }


@dataclass
class Answer:
    question: str
    text: str
    abstained: bool
    parts: list[AnswerPart] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    search_query: str = ""
    phrased_by: str = "extractive"
    timings_ms: dict[str, float] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)  # article id → URL, for `passages`

    @property
    def supporting_passage(self) -> str:
        return self.parts[0].passage.text if self.parts else ""

    def as_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "sources": [p.as_dict() for p in self.parts],
            "supporting_passage": self.supporting_passage,
            "passages": [self._passage_dict(p) for p in self.passages],
            "search_query": self.search_query,
            "phrased_by": self.phrased_by,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }

    def _passage_dict(self, passage: Passage) -> dict:
        """The passage with its article's `url` ("" when none), whether or not the
        index's Passage carries it."""
        out = passage.as_dict()
        out["url"] = out.get("url") or self.urls.get(passage.article_id, "")
        return out


@dataclass
class _Candidate:
    passage: Passage
    rank: int
    start: int  # span in the passage text
    end: int
    text: str
    cosine: float = 0.0
    coverage: float = 0.0
    score: float = 0.0


class Answerer:
    def __init__(self, kb: KnowledgeBase, phraser=None) -> None:
        self.kb = kb
        self.phraser = phraser
        self._sentence_vectors: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._article_token_sets: OrderedDict[tuple, frozenset[str]] = OrderedDict()

    @classmethod
    def from_env(cls, kb: KnowledgeBase, settings: Settings | None = None) -> Answerer:
        """With the language model `settings` (default: the environment's) name, if any."""
        from bot.llm import LlmPhraser
        from bot.settings import Settings

        return cls(kb, LlmPhraser.from_settings(settings or Settings.from_env()))

    # -- the public path -------------------------------------------------------------
    def answer(
        self, question: str, conversation: Conversation | None = None, top_k: int = 5
    ) -> Answer:
        """Answer on one pinned index version (the caches are shared with the pinned copy)."""
        pinned = copy.copy(self)
        pinned.kb = self.kb.pinned()
        return pinned._answer(question, conversation, top_k)

    def _answer(self, question: str, conversation: Conversation | None, top_k: int) -> Answer:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        resolved = resolve(question, conversation)
        passages = self.kb.search(resolved.search_query, top_k=max(top_k, 8), timings=timings)
        if resolved.focus_articles:
            focus = set(resolved.focus_articles)
            passages = [p for p in passages if p.article_id in focus] or passages
        t0 = time.perf_counter()
        answer = self._compose(question, resolved.search_query, passages, resolved.is_follow_up)
        timings["compose_ms"] = (time.perf_counter() - t0) * 1000
        answer.passages = passages[:top_k]
        answer.urls = self._urls(answer.passages)
        if not answer.abstained and self.phraser is not None:
            t1 = time.perf_counter()
            phrased = self.phraser.phrase(question, answer.parts)
            timings["llm_ms"] = (time.perf_counter() - t1) * 1000
            if phrased:
                answer.text, answer.phrased_by = phrased, "llm"
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        answer.timings_ms = timings
        if conversation is not None:
            conversation.remember(
                Turn(
                    question=question,
                    article_ids=[p.article_id for p in answer.parts],
                    abstained=answer.abstained,
                )
            )
        return answer

    # -- composition -----------------------------------------------------------------
    def _compose(
        self, question: str, query: str, passages: list[Passage], follow_up: bool
    ) -> Answer:
        answer = Answer(question=question, text="", abstained=True, search_query=query)
        if not passages:
            return self._decline(answer)
        # Sentences are judged against the question as asked; the words a follow-up
        # borrowed from earlier turns only steered the search.
        top_texts = [p.title + " " + p.text for p in passages[:3]]
        weights, coverage = max(
            (
                (w, _coverage(w, top_texts))
                for w in map(self._token_weights, date_variants(question))
            ),
            key=lambda pair: pair[1],
        )
        if not weights and not follow_up:  # "؟", "این چیست؟": nothing to look for
            return self._decline(answer, passages)
        candidates = self._candidates(passages[:CANDIDATE_PASSAGES])
        self._score(question, weights, candidates)
        best = max(candidates, key=lambda c: c.score)
        log.debug("coverage %.2f, best cosine %.3f: %s", coverage, best.cosine, best.text[:60])
        if coverage < MIN_COVERAGE or (
            coverage < SURE_COVERAGE and best.cosine < MIN_SENTENCE_COSINE
        ):
            return self._decline(answer, passages)
        is_list = bool(_LIST_QUESTION_RE.search(question))
        if is_list:  # a list is answered by the sentence that enumerates
            for c in candidates:
                c.score += _LIST_BONUS * min(c.text.count("،") + c.text.count(","), 5)
            best = max(candidates, key=lambda c: c.score)
        limit = LIST_ANSWER_MAX_CHARS if is_list else ANSWER_MAX_CHARS
        chosen = [best]
        if not follow_up:
            other = self._second_report(best, candidates, weights)
            if other is not None:
                chosen.append(other)
        chosen = [
            self._with_neighbour(c, candidates, weights, limit // len(chosen)) for c in chosen
        ]
        answer.abstained = False
        answer.parts = [self._part(c, weights, limit // len(chosen)) for c in chosen]
        answer.text = self._answer_text(answer.parts)
        return answer

    def _decline(self, answer: Answer, passages: Sequence[Passage] = ()) -> Answer:
        """Say what the articles do cover: all titles of a small collection, else the
        articles nearest to the question."""
        articles = self.kb.articles()
        if not articles:
            answer.text = (
                "هنوز مقاله‌ای نمایه نشده است؛ نخست مقاله‌ها را بیفزایید (pasokh index add)."
            )
            return answer
        if len(articles) <= 5:
            topics = [a.title for a in articles]
            lead = f"{len(articles)} مقاله‌ی نمایه‌شده درباره‌ی این موضوع‌ها هستند: "
        else:
            topics = list(dict.fromkeys(p.title for p in passages))[:3]
            lead = f"نزدیک‌ترین مقاله‌ها به این پرسش، از میان {len(articles)} مقاله: "
        answer.text = "پاسخ این پرسش در مقاله‌های نمایه‌شده نیامده است. " + lead + "؛ ".join(topics)
        return answer

    def _answer_text(self, parts: list[AnswerPart]) -> str:
        if len(parts) == 1:
            return parts[0].text
        lines = ["دو گزارش متفاوت در مقاله‌ها آمده است:"]
        for i, part in enumerate(parts, start=1):
            when = f"، {part.date}" if part.date else ""
            lines.append(f"{i}. ({part.source}{when}) {part.text}")
        return "\n".join(lines)

    def _urls(self, passages: list[Passage]) -> dict[str, str]:
        """Each passage's article URL, from the catalog (ArticleInfo.url)."""
        urls: dict[str, str] = {}
        for passage in passages:
            if passage.article_id not in urls:
                article = self.kb.article(passage.article_id)
                urls[passage.article_id] = (article.url if article is not None else "") or ""
        return urls

    def _part(self, candidate: _Candidate, weights: dict[str, float], limit: int) -> AnswerPart:
        passage = candidate.passage
        article = self.kb.article(passage.article_id)
        date = article.date if article is not None else ""
        url = (article.url if article is not None else "") or ""
        return AnswerPart(
            text=_shorten(candidate.text, weights, limit),
            article_id=passage.article_id,
            title=passage.title,
            source=passage.source,
            date=date,
            passage=passage,
            score=candidate.score,
            url=url,
        )

    def _with_neighbour(
        self, best: _Candidate, candidates: list[_Candidate], weights: dict[str, float], limit: int
    ) -> _Candidate:
        article = self.kb.article(best.passage.article_id)
        if article is None:
            return best
        begin, end = best.passage.start + best.start, best.passage.start + best.end
        own = _coverage(weights, [best.text])
        for other in sorted(candidates, key=lambda c: -c.score):
            if other.passage.article_id != best.passage.article_id or other is best:
                continue
            o_begin, o_end = other.passage.start + other.start, other.passage.start + other.end
            adjacent = not article.text[min(end, o_begin) : max(end, o_begin)].strip() or (
                not article.text[min(o_end, begin) : max(o_end, begin)].strip()
            )
            if not adjacent or other.score < best.score - NEIGHBOUR_MARGIN:
                continue
            new_begin, new_end = min(begin, o_begin), max(end, o_end)
            text = article.text[new_begin:new_end]
            if len(text) > limit or _coverage(weights, [text]) - own < NEIGHBOUR_GAIN:
                continue
            offset = new_begin - best.passage.start
            return _Candidate(
                best.passage, best.rank, offset, offset + len(text), text,
                best.cosine, max(best.coverage, other.coverage), best.score,
            )  # fmt: skip
        return best

    def _second_report(
        self, best: _Candidate, candidates: list[_Candidate], weights: dict[str, float]
    ) -> _Candidate | None:
        others = [c for c in candidates if c.passage.article_id != best.passage.article_id]
        if not others:
            return None
        other = max(others, key=lambda c: c.score)
        if (
            other.score < best.score - SECOND_REPORT_MARGIN
            or other.coverage < best.coverage - SECOND_REPORT_MARGIN * 4
        ):
            return None
        # A question word only one of the two articles has (a month, a name) picks that one.
        best_article = self.kb.article(best.passage.article_id)
        other_article = self.kb.article(other.passage.article_id)
        if best_article is None or other_article is None:
            return None
        best_tokens = self._article_tokens(best_article.id)
        other_tokens = self._article_tokens(other_article.id)
        if any((t in best_tokens) != (t in other_tokens) for t in weights):
            return None
        best_vector, other_vector = self._vectors([best.text, other.text])
        if float(best_vector @ other_vector) < PARALLEL_SENTENCE_COSINE:
            return None
        return other

    # -- scoring -----------------------------------------------------------------------
    def _token_weights(self, query: str) -> dict[str, float]:
        """IDF of the question's content stems in the index; unknown words weigh most."""
        lexical = self.kb.lexical_stats()
        n = max(lexical.documents, 1)
        weights = {}
        for token in dict.fromkeys(content_stems(query)):
            df = lexical.document_frequency(token)
            weights[token] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return weights

    def _candidates(self, passages: list[Passage]) -> list[_Candidate]:
        seen: set[tuple[str, int]] = set()
        out = []
        for rank, passage in enumerate(passages, start=1):
            for start, end in sentence_spans(passage.text):
                key = (passage.article_id, passage.start + start)
                if key in seen or len(word_tokens(passage.text[start:end])) < 3:
                    continue
                seen.add(key)
                out.append(_Candidate(passage, rank, start, end, passage.text[start:end]))
        return out or [_Candidate(p, i, 0, len(p.text), p.text) for i, p in enumerate(passages, 1)]

    def _score(self, query: str, weights: dict[str, float], candidates: list[_Candidate]) -> None:
        """Words the sentence lacks but its article has (the trip's month, say) count half:
        they place the sentence without being what it says."""
        embedder = self.kb.embedder
        query_vector = embedder.encode_query(query)
        vectors = self._vectors([c.text for c in candidates])
        article_coverage = {
            article_id: _coverage_of_tokens(weights, self._article_tokens(article_id))
            for article_id in {c.passage.article_id for c in candidates}
        }
        for candidate, vector in zip(candidates, vectors, strict=True):
            candidate.cosine = float(vector @ query_vector)
            own = _coverage(weights, [candidate.text])
            candidate.coverage = own + 0.5 * max(
                0.0, article_coverage[candidate.passage.article_id] - own
            )
            candidate.score = (
                _QUESTION_WEIGHT * candidate.cosine
                + _COVERAGE_WEIGHT * candidate.coverage
                + _RANK_WEIGHT / candidate.rank
            )

    def _article_tokens(self, article_id: str) -> frozenset[str]:
        """An article's lexical tokens, title included; computed once per index version."""
        key = (self.kb.version, article_id)
        if key not in self._article_token_sets:
            article = self.kb.article(article_id)
            text = f"{article.title} {article.text}" if article else ""
            self._article_token_sets[key] = frozenset(matching_tokens(text))
            while len(self._article_token_sets) > 2_000:
                self._article_token_sets.popitem(last=False)
        return self._article_token_sets[key]

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """Sentence vectors, cached: the same sentences come back for related questions."""
        key_prefix = self.kb.version
        missing = [t for t in dict.fromkeys(texts) if (key_prefix, t) not in self._sentence_vectors]
        if missing:
            for text, vector in zip(
                missing, self.kb.embedder.encode_sentences(missing), strict=True
            ):
                self._sentence_vectors[(key_prefix, text)] = vector
            while len(self._sentence_vectors) > 20_000:
                self._sentence_vectors.popitem(last=False)
        return np.stack([self._sentence_vectors[(key_prefix, t)] for t in texts])


def _coverage(weights: dict[str, float], texts: list[str]) -> float:
    """Share of the question's weight whose words (or their glued compounds) are in the texts."""
    return _coverage_of_tokens(weights, {t for text in texts for t in matching_tokens(text)})


def _coverage_of_tokens(weights: dict[str, float], tokens: set[str] | frozenset[str]) -> float:
    total = sum(weights.values())
    if total <= 0:
        return 1.0
    present = set(tokens) | _glued_parts(tokens, weights)
    return sum(w for t, w in weights.items() if t in present) / total


def _glued_parts(tokens: set[str] | frozenset[str], weights: dict[str, float]) -> set[str]:
    """Question words inside a glued compound of the text ("بین", "الملل" in "بینالملل")."""
    found = set()
    for token in tokens:
        for word in weights:
            if (
                len(word) >= 2
                and word != token
                and (token.startswith(word) or token.endswith(word))
            ):
                found.add(word)
    return found


def _shorten(sentence: str, weights: dict[str, float], limit: int) -> str:
    """A long sentence is cut to its clauses that carry the question's words."""
    sentence = sentence.strip()
    if len(sentence) <= limit:
        return sentence
    clauses = [c for c in re.split(r"(?<=[،؛:])\s+", sentence) if c]
    best, best_score = (0, 1), -1.0
    for i in range(len(clauses)):
        length = 0
        for j in range(i, len(clauses)):
            length += len(clauses[j]) + 1
            if length > limit and j > i:
                break
            score = _coverage(weights, [" ".join(clauses[i : j + 1])])
            if score > best_score:
                best, best_score = (i, j + 1), score
    text = " ".join(clauses[best[0] : best[1]])
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0]
    prefix = "… " if best[0] > 0 else ""
    suffix = " …" if best[1] < len(clauses) or not text.endswith((".", "!", "؟")) else ""
    return prefix + text + suffix

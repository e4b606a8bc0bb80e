"""Dictionary matching and "behaviour modelling": alias pruning and candidate restriction.

After Su Jianlin, "百度实体链接比赛后记:行为建模和实体链接" (kexue.fm/archives/6919): the
labels record the annotators' habits, so the alias dictionary is pruned with training
statistics and the candidates of a name are restricted to the entities annotated for it.

- Matching: an Aho–Corasick automaton over the aliases (``pyahocorasick``) finds every
  occurrence; forward maximum matching on top keeps, scanning left to right, the longest
  alias starting at each position and jumps past it (吉林市 wins over 吉林).
- Pruning: with, on the training texts, ``annotated(a)`` = gold mentions whose string is
  ``a`` and ``unannotated(a)`` = maximum-matching matches of ``a`` whose span is not a gold
  mention, drop ``a`` when ``(unannotated(a) + 1) / (annotated(a) + 1) >= threshold``
  (default 5, the article's).
- Restriction: the candidates of ``a`` are the entities linked from ``a`` at least
  ``min_count`` times in training (default 2, the article's; 0 = every KB entity named
  ``a``). An alias left with no candidate is not matched.

Example:
    >>> from kexue.tasks.linking.data import Entity, KnowledgeBase, Mention, Text
    >>> kb = KnowledgeBase([Entity("P", "吉林省", ("吉林省", "吉林")),
    ...                     Entity("C", "吉林市", ("吉林市", "吉林"))])
    >>> AliasMatcher(kb.alias_index).max_match("吉林市在吉林省")
    [(0, 3, '吉林市'), (4, 7, '吉林省')]
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kexue._validation import check_float, check_int
from kexue.tasks.linking.data import NIL, KnowledgeBase, Mention, Text

__all__ = ["AliasMatcher", "AliasStatistics", "CandidateDictionary", "STAGES"]

#: dictionary stages of the ablation: every alias, after pruning, after restriction.
STAGES = ("dictionary", "pruned", "restricted")

Match = tuple[int, int, str]


class AliasMatcher:
    """Aho–Corasick matching of a set of aliases, with forward maximum matching on top.

    Args:
        aliases: the strings to find (empty strings are ignored).
    """

    def __init__(self, aliases: Iterable[str]):
        import ahocorasick

        self.automaton = ahocorasick.Automaton()
        self.size = 0
        for alias in aliases:
            if alias and self.automaton.add_word(alias, alias):
                self.size += 1
        if self.size:
            self.automaton.make_automaton()

    def all_matches(self, text: str) -> list[Match]:
        """Every occurrence ``(start, end, alias)``, overlapping ones included, by start.

        Example:
            >>> AliasMatcher(["吉林", "吉林市"]).all_matches("吉林市")
            [(0, 2, '吉林'), (0, 3, '吉林市')]
        """
        if not self.size:
            return []
        found = [(end + 1 - len(alias), end + 1, alias)
                 for end, alias in self.automaton.iter(text)]
        return sorted(found)

    def max_match(self, text: str) -> list[Match]:
        """Forward maximum matching: non-overlapping matches, longest first from the left."""
        longest: dict[int, tuple[int, str]] = {}
        for start, end, alias in self.all_matches(text):
            if end > longest.get(start, (0, ""))[0]:
                longest[start] = (end, alias)
        out: list[Match] = []
        position = 0
        for start in sorted(longest):
            if start < position:
                continue
            end, alias = longest[start]
            out.append((start, end, alias))
            position = end
        return out


@dataclass
class AliasStatistics:
    """Training counts per alias: gold mentions, unannotated max-matches, links by entity."""

    annotated: Counter
    unannotated: Counter
    links: dict[str, Counter]

    @classmethod
    def count(cls, texts: Iterable[Text], matcher: AliasMatcher) -> AliasStatistics:
        """Count on ``texts`` (gold mentions) with ``matcher``'s maximum matching.

        Example:
            >>> from kexue.tasks.linking.data import Mention, Text
            >>> texts = [Text("1", "北京大学在北京", [Mention("北京", 5, "B")])]
            >>> stats = AliasStatistics.count(texts, AliasMatcher(["北京"]))
            >>> stats.annotated["北京"], stats.unannotated["北京"], dict(stats.links["北京"])
            (1, 1, {'B': 1})
        """
        annotated: Counter = Counter()
        unannotated: Counter = Counter()
        links: dict[str, Counter] = defaultdict(Counter)
        for text in texts:
            spans = {(m.offset, m.offset + len(m.mention)) for m in text.mentions}
            for mention in text.mentions:
                annotated[mention.mention] += 1
                if mention.kb_id != NIL:
                    links[mention.mention][mention.kb_id] += 1
            for start, end, alias in matcher.max_match(text.text):
                if (start, end) not in spans:
                    unannotated[alias] += 1
        return cls(annotated, unannotated, dict(links))

    def ratio(self, alias: str) -> float:
        """``(unannotated + 1) / (annotated + 1)``, the article's pruning statistic."""
        return (self.unannotated[alias] + 1) / (self.annotated[alias] + 1)


class CandidateDictionary:
    """The behaviour-modelled dictionary: pruned aliases and restricted candidates.

    Args:
        kb: the knowledge base.
        statistics: training counts (:meth:`AliasStatistics.count`).
        threshold: pruning threshold on :meth:`AliasStatistics.ratio`.
        min_count: training links an entity needs to stay a candidate (0: no restriction).

    Build it with :meth:`fit`; save with :meth:`to_json`, load with :meth:`from_json`.
    """

    def __init__(self, kb: KnowledgeBase, statistics: AliasStatistics, *,
                 threshold: float = 5.0, min_count: int = 2):
        self.kb = kb
        self.statistics = statistics
        self.threshold = check_float(threshold, "threshold", minimum=0.0, include_min=False)
        self.min_count = check_int(min_count, "min_count", minimum=0)
        self.pruned = {a for a in kb.alias_index if statistics.ratio(a) >= self.threshold}
        self._matchers: dict[str, AliasMatcher] = {}

    @classmethod
    def fit(cls, kb: KnowledgeBase, texts: Sequence[Text], *, threshold: float = 5.0,
            min_count: int = 2) -> CandidateDictionary:
        """Count on the training ``texts`` and build the dictionary.

        Example:
            >>> from kexue.tasks.linking.data import Entity, KnowledgeBase, Mention, Text
            >>> kb = KnowledgeBase([Entity("B", "北京市", ("北京市", "北京")),
            ...                     Entity("C", "朝阳区", ("朝阳区", "朝阳"))])
            >>> texts = [Text("1", "朝阳升起，北京", [Mention("北京", 5, "B")])] * 3
            >>> d = CandidateDictionary.fit(kb, texts, threshold=2)
            >>> sorted(d.pruned), d.candidates("北京"), d.match("朝阳区在北京")
            (['朝阳'], ['B'], [(4, 6, '北京')])
        """
        statistics = AliasStatistics.count(texts, AliasMatcher(kb.alias_index))
        return cls(kb, statistics, threshold=threshold, min_count=min_count)

    def candidates(self, alias: str, stage: str = "restricted") -> list[str]:
        """Candidate entities of ``alias`` (KB order; restricted ones by training count)."""
        ids = self.kb.ids_for(alias)
        if stage != "restricted" or self.min_count == 0:
            return ids
        links = self.statistics.links.get(alias, Counter())
        return [i for i in ids if links[i] >= self.min_count]

    def aliases(self, stage: str = "restricted") -> list[str]:
        """The aliases matched at ``stage`` (one of :data:`STAGES`)."""
        if stage not in STAGES:
            raise ValueError(f"`stage` must be one of {', '.join(STAGES)}; received {stage!r}")
        names = list(self.kb.alias_index)
        if stage == "dictionary":
            return names
        names = [a for a in names if a not in self.pruned]
        if stage == "pruned":
            return names
        return [a for a in names if self.candidates(a)]

    def matcher(self, stage: str = "restricted") -> AliasMatcher:
        if stage not in self._matchers:
            self._matchers[stage] = AliasMatcher(self.aliases(stage))
        return self._matchers[stage]

    def match(self, text: str, stage: str = "restricted") -> list[Match]:
        """Maximum-matching matches of ``text`` at ``stage``."""
        return self.matcher(stage).max_match(text)

    def most_frequent(self, alias: str, stage: str = "restricted") -> str | None:
        """The candidate linked most often from ``alias`` in training (ties: KB order)."""
        ids = self.candidates(alias, stage)
        if not ids:
            return None
        links = self.statistics.links.get(alias, Counter())
        return max(ids, key=lambda i: (links[i], -ids.index(i)))

    def link_by_frequency(self, texts: Iterable[Text], stage: str = "restricted"
                          ) -> list[Text]:
        """The dictionary-only system: every match, linked to its most frequent candidate."""
        out = []
        for text in texts:
            mentions = []
            for start, _end, alias in self.match(text.text, stage):
                best = self.most_frequent(alias, stage)
                if best is not None:
                    mentions.append(Mention(alias, start, best))
            out.append(Text(text.text_id, text.text, mentions))
        return out

    def recall_cap(self, texts: Iterable[Text], stage: str = "restricted") -> float:
        """Share of gold non-NIL mentions that ``stage``'s matches and candidates can
        still produce: the best recall any filter or disambiguator on top can reach."""
        reachable = total = 0
        for text in texts:
            spans = {(s, e): a for s, e, a in self.match(text.text, stage)}
            for m in text.mentions:
                if m.kb_id == NIL:
                    continue
                total += 1
                alias = spans.get((m.offset, m.offset + len(m.mention)))
                reachable += alias is not None and m.kb_id in self.candidates(alias, stage)
        return reachable / total if total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "min_count": self.min_count,
                "annotated": dict(self.statistics.annotated),
                "unannotated": dict(self.statistics.unannotated),
                "links": {a: dict(c) for a, c in self.statistics.links.items()},
                "pruned": sorted(self.pruned)}

    @classmethod
    def from_json(cls, obj: dict[str, Any], kb: KnowledgeBase) -> CandidateDictionary:
        statistics = AliasStatistics(Counter(obj["annotated"]), Counter(obj["unannotated"]),
                                     {a: Counter(c) for a, c in obj["links"].items()})
        return cls(kb, statistics, threshold=obj["threshold"], min_count=obj["min_count"])

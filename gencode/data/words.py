"""Prompt words: text → the content words a model knows, and the ones it does not (torch-free).

Shared by the procedural datasets, folder datasets and the runtime, so a prompt is read the same way
at training time and at render time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# Function words carry no content: they are dropped rather than reported as unknown.
STOPWORDS = frozenset(
    "a an the at in on of with and or over under by from to into onto near during "
    "some many few very is are this that its".split()
)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def split_words(prompt: str) -> list[str]:
    """Lower-cased words of a prompt, punctuation and stopwords removed."""
    return [w for w in _WORD.findall(prompt.lower()) if w not in STOPWORDS]


def _variants(word: str) -> list[str]:
    """The word and its simple singular/plural neighbours, most likely first."""
    out = [word, word + "s"]
    if word.endswith("ies"):
        out.append(word[:-3] + "y")
    if word.endswith("y"):
        out.append(word[:-1] + "ies")
    if word.endswith("es"):
        out.append(word[:-2])
    if word.endswith("s"):
        out.append(word[:-1])
    return out


def canonical(
    word: str, vocabulary: Iterable[str], aliases: Mapping[str, str] | None = None
) -> str | None:
    """The vocabulary word a prompt word means (exact, alias, or plural/singular), else None."""
    vocab = set(vocabulary)
    aliases = aliases or {}
    for v in _variants(word):
        if v in vocab:
            return v
        if v in aliases:
            return aliases[v]
    return None


def tokenize_with(
    prompt: str, vocabulary: Iterable[str], aliases: Mapping[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """(known words in canonical form, unknown words) of a prompt for a given vocabulary."""
    vocab = list(vocabulary)
    known: list[str] = []
    unknown: list[str] = []
    for w in split_words(prompt):
        c = canonical(w, vocab, aliases)
        (known if c is not None else unknown).append(c if c is not None else w)
    return known, unknown


def unknown_words(prompt: str, meta: Mapping[str, object]) -> list[str]:
    """The words of a prompt a model's checkpoint meta does not know: not in its "vocabulary",
    not an "aliases" key, not one of its "fillers" (words neither known nor worth a warning)."""
    vocab = meta.get("vocabulary") or ()
    aliases = meta.get("aliases") or {}
    fillers = set(meta.get("fillers") or ())  # type: ignore[call-overload]
    _, unknown = tokenize_with(prompt, vocab, aliases)  # type: ignore[arg-type]
    return [w for w in unknown if w not in fillers]

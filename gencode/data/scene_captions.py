"""Words of the `scenes` dataset: captions in varied phrasing, and the aliases and fillers they use.

Input: a label (subject, time of day, modifiers) and a random generator. Output: a caption such as
"a misty lake at dawn" or "the city in the snow at night" in which every word is a vocabulary word,
an alias of one, a filler or a stopword, so a prompt is understood word by word.
"""

from __future__ import annotations

import numpy as np

# Other words people will type for the same things; they map onto the vocabulary.
ALIASES: dict[str, str] = {
    "dune": "dunes", "desert": "dunes", "sand": "dunes",
    "mountain": "mountains", "peaks": "mountains", "alps": "mountains",
    "sea": "ocean", "waves": "ocean", "seaside": "ocean", "beach": "ocean",
    "woods": "forest", "trees": "forest", "pines": "forest",
    "cloud": "clouds", "cloudy": "clouds", "cloudscape": "clouds",
    "snowfields": "snowfield", "tundra": "snowfield",
    "skyline": "city", "buildings": "city", "town": "city",
    "starfield": "stars", "starry": "stars", "galaxy": "stars",
    "pond": "lake",
    "volcanic": "volcano", "eruption": "volcano", "lava": "volcano",
    "field": "meadow", "grassland": "meadow", "flowers": "meadow", "prairie": "meadow",
    "isle": "island", "islet": "island", "atoll": "island",
    "gorge": "canyon", "ravine": "canyon",
    "sunrise": "dawn", "morning": "dawn",
    "daytime": "day", "noon": "day", "midday": "day",
    "sunset": "dusk", "evening": "dusk", "twilight": "dusk",
    "nighttime": "night", "midnight": "night",
    "moonlit": "moon", "moonlight": "moon", "moonrise": "moon",
    "misty": "mist", "fog": "mist", "foggy": "mist", "haze": "mist", "hazy": "mist",
    "snowy": "snow", "snowfall": "snow", "snowing": "snow", "blizzard": "snow",
    "stormy": "storm", "rain": "storm", "rainy": "storm", "thunderstorm": "storm",
    "lightning": "storm",
    "fall": "autumn", "autumnal": "autumn",
    "auroras": "aurora", "northern": "aurora", "borealis": "aurora",
    "rainbows": "rainbow",
}  # fmt: skip
# Words that only frame a picture; dropped rather than reported as unknown.
FILLERS = frozenset(
    "scene landscape view picture image photo sky time full bright falling heavy lights leaves "
    "tropical small distant wide calm quiet colours colors first".split()
)
# How a subject reads inside a sentence; a bare form (no article) is made by dropping the article.
NOUNS: dict[str, tuple[str, ...]] = {
    "dunes": ("dunes", "sand dunes", "the desert", "desert dunes"),
    "mountains": ("mountains", "the mountains", "mountain peaks", "a mountain"),
    "ocean": ("the ocean", "an ocean", "the sea", "ocean waves"),
    "forest": ("a forest", "the forest", "forest", "pine woods"),
    "clouds": ("clouds", "a cloudy sky", "the clouds"),
    "snowfield": ("a snowfield", "snowfield", "the tundra"),
    "city": ("a city", "a city skyline", "the city", "a town"),
    "stars": ("stars", "a starry sky", "the starfield", "a galaxy"),
    "lake": ("a lake", "the lake", "lake", "a pond"),
    "volcano": ("a volcano", "the volcano", "volcano", "a lava volcano"),
    "meadow": ("a meadow", "the meadow", "a field of flowers", "meadow"),
    "island": ("an island", "a tropical island", "the island", "a small isle"),
    "canyon": ("a canyon", "the canyon", "a gorge", "canyon"),
}
TIME_PHRASES: dict[str, tuple[str, ...]] = {
    "dawn": ("at dawn", "at sunrise", "in the morning", "at first dawn"),
    "day": ("by day", "at noon", "in daytime", "at midday"),
    "dusk": ("at dusk", "at sunset", "in the evening", "at twilight"),
    "night": ("at night", "at midnight", "by night", "in the night"),
}
TIME_ADJECTIVES: dict[str, tuple[str, ...]] = {
    "dawn": ("dawn", "morning", "sunrise"),
    "day": ("daytime", "noon"),
    "dusk": ("dusk", "evening", "sunset"),
    "night": ("night", "nighttime", "midnight"),
}
MODIFIER_PHRASES: dict[str, tuple[str, ...]] = {
    "moon": ("with the moon", "under a full moon", "with a bright moon", "in the moonlight"),
    "mist": ("with mist", "in the mist", "in fog", "in heavy fog"),
    "snow": ("in the snow", "with snow", "with falling snow", "in a snowfall"),
    "storm": ("in a storm", "in the rain", "with lightning", "in a thunderstorm"),
    "autumn": ("in autumn", "in the fall", "with autumn leaves", "in autumn colours"),
    "aurora": (
        "under the aurora",
        "with northern lights",
        "with an aurora",
        "under aurora borealis",
    ),
    "rainbow": ("with a rainbow", "under a rainbow", "and a rainbow"),
}
MODIFIER_ADJECTIVES: dict[str, tuple[str, ...]] = {
    "moon": ("moonlit",),
    "mist": ("misty", "foggy", "hazy"),
    "snow": ("snowy",),
    "storm": ("stormy", "rainy"),
    "autumn": ("autumn", "autumnal"),
}


def bare(noun: str) -> str:
    """A noun phrase without its leading article ("a city skyline" -> "city skyline")."""
    head, _, rest = noun.partition(" ")
    return rest if head in ("a", "an", "the") and rest else noun


def pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return str(options[rng.integers(len(options))])


def caption(subject: str, time: str, modifiers: tuple[str, ...], rng: np.random.Generator) -> str:
    """A caption in varied phrasing; it may leave out the time, a modifier or (rarely) the subject."""
    says_time = rng.random() < 0.75
    says = [m for m in modifiers if rng.random() < 0.85]
    if not says_time and not says or rng.random() < 0.9:
        noun = pick(NOUNS[subject], rng)
    else:
        noun = "a scene" if says else "a landscape"
    adjective = ""
    adjectivable = [m for m in says if m in MODIFIER_ADJECTIVES]
    if adjectivable and rng.random() < 0.4:
        m = adjectivable[rng.integers(len(adjectivable))]
        says.remove(m)
        adjective = pick(MODIFIER_ADJECTIVES[m], rng)
    elif says_time and rng.random() < 0.25:
        says_time = False
        adjective = pick(TIME_ADJECTIVES[time], rng)
    head = f"{'a ' if rng.random() < 0.5 else ''}{adjective} {bare(noun)}" if adjective else noun
    tail = [pick(MODIFIER_PHRASES[m], rng) for m in says]
    if says_time:
        tail.insert(int(rng.integers(len(tail) + 1)), pick(TIME_PHRASES[time], rng))
    sep = ", " if rng.random() < 0.2 else " "
    return sep.join([head.strip(), *tail]) if tail else head.strip()

#!/usr/bin/env python3
"""Generate textseq's default English corpus: short stories from a small probabilistic grammar.

Every story (a paragraph; stories are separated by one blank line) is about one character, the
narrator ("I") or a named person. Its first sentence says where the character grew up; one or
more later sentences, after 1-6 unrelated filler sentences, name something that only that first
sentence determines: the language the character speaks, the dish they miss, the currency they paid
in, the capital they visit. Named characters are referred to by a pronoun that agrees with the
name (she, he or they) all through the story; a pet introduced early makes its own sound later;
and subjects agree in number with verbs across relative clauses and prepositional phrases. These
are the long-range dependencies that an n-gram model cannot see and a recurrent model can learn;
``DEPENDENCIES`` lists them, and :func:`find_links` finds every instance in a story's text.

The output is a deterministic function of ``--seed`` and ``--tokens``: the only source of chance
is ``random.Random(seed).random()``, and every weighted draw is done in integer arithmetic, so the
bytes are the same on every machine and Python version.

``--labels`` writes a text-classification data set from the same grammar instead (a stream of its
own, :func:`labelled_text`): one story a line, labelled with its country, whose name is not on
the line; only who does what in it tells the home country's things from other countries'.

Standalone: Python 3.10+ standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import sys
import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

DEFAULT_SEED = 1
DEFAULT_TOKENS = 250_000
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as textseq itself reports it
_T = TypeVar("_T")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --------------------------------------------------------------------------------------------
# Lexicon. Lists are in rough order of frequency: the draws give rank r a weight 1/(r + offset).
# --------------------------------------------------------------------------------------------


class Country(NamedTuple):
    name: str
    language: str
    capital: str
    dish: str
    currency: str


COUNTRIES: tuple[Country, ...] = tuple(
    Country(*row.split(":"))
    for row in _words("""
        France:French:Paris:ratatouille:euros
        Japan:Japanese:Tokyo:sushi:yen
        Brazil:Portuguese:Brasilia:feijoada:reais
        Germany:German:Berlin:sauerkraut:euros
        Italy:Italian:Rome:risotto:euros
        Spain:Spanish:Madrid:paella:euros
        Russia:Russian:Moscow:borscht:roubles
        China:Chinese:Beijing:congee:yuan
        Egypt:Arabic:Cairo:koshari:pounds
        Greece:Greek:Athens:moussaka:euros
        Turkey:Turkish:Ankara:baklava:lira
        Poland:Polish:Warsaw:bigos:zlotys
        Sweden:Swedish:Stockholm:gravlax:kronor
        Kenya:Swahili:Nairobi:ugali:shillings
        Korea:Korean:Seoul:kimchi:won
        Vietnam:Vietnamese:Hanoi:pho:dong
        Portugal:Portuguese:Lisbon:bacalhau:euros
        Hungary:Hungarian:Budapest:goulash:forints
        Norway:Norwegian:Oslo:lutefisk:kroner
        Peru:Spanish:Lima:ceviche:soles
        Morocco:Arabic:Rabat:tagine:dirhams
        Indonesia:Indonesian:Jakarta:rendang:rupiah
        Iran:Persian:Tehran:fesenjan:rials
    """)
)
COUNTRY_BY_NAME: dict[str, Country] = {c.name: c for c in COUNTRIES}
ATTRIBUTES = ("language", "dish", "currency", "capital")

FEMALE_NAMES = _words("""
    Anna Maria Sofia Emma Olivia Clara Lucy Hannah Laura Nina Elena Julia Sarah Grace Alice
    Ingrid Yuki Amara Leila Priya Fatima Mei Chloe Zoe Isabel Helen Martha Irene Eva Lena Nora
    Vera Ruth Ada Mira Sana Aiko Keiko Olga Tanya Beatriz Camila Lucia Greta Freya Astrid Agnes
    Esther Naomi Stella Paula Diana Marta Bianca Carmen Dora Edith Flora Gloria Harriet
""")
MALE_NAMES = _words("""
    Tom James David Daniel Peter Paul Lucas Marco Hans Ivan Kenji Omar Ahmed Ravi Diego Pedro
    Luis Carlos Felix Oscar Hugo Leo Noah Ethan Samuel Henry George Arthur Oliver Jack Harry
    Thomas Michael Simon Victor Anton Erik Lars Nils Kofi Tariq Yusuf Hiroshi Takeshi Wei Chen
    Minh Andrei Dmitri Pablo Mateo Rafael Hector Walter Frank Albert Edward Stefan Karl Milan
""")
NEUTRAL_NAMES = _words("""
    Alex Sam Robin Jordan Charlie Taylor Morgan Casey Jamie Riley Avery Quinn Rowan Sasha Kim
    Jesse Drew Reese Kai Remy Blair Emerson Finley Hayden Parker Skyler Dana
""")
GENDERS = ("female", "male", "neutral")
NAMES_BY_GENDER: dict[str, tuple[str, ...]] = {"female": FEMALE_NAMES, "male": MALE_NAMES, "neutral": NEUTRAL_NAMES}
GENDER_OF_NAME: dict[str, str] = {n: g for g in GENDERS for n in NAMES_BY_GENDER[g]}


class Pronouns(NamedTuple):
    subject: str
    object: str
    possessive: str
    verb_plural: bool  # "they speak", "I speak" against "she speaks"
    was: str


PRONOUNS: dict[str, Pronouns] = {
    "first": Pronouns("I", "me", "my", True, "was"),
    "female": Pronouns("she", "her", "her", False, "was"),
    "male": Pronouns("he", "him", "his", False, "was"),
    "neutral": Pronouns("they", "them", "their", True, "were"),
}
THIRD_PERSON_PRONOUNS: dict[str, str] = {
    "she": "female",
    "her": "female",
    "hers": "female",
    "herself": "female",
    "he": "male",
    "him": "male",
    "his": "male",
    "himself": "male",
    "they": "neutral",
    "them": "neutral",
    "their": "neutral",
    "theirs": "neutral",
    "themselves": "neutral",
}

PET_NAMES = _words("""
    Biscuit Shadow Luna Pickle Noodle Ziggy Muffin Socks Whiskers Bubbles Coco Rusty Sparky
    Patch Toffee Button Domino Pixel Nugget Bandit Smudge Jasper Comet Pebble Sprout Fudge
    Rocket Tinker Bramble Dotty Scout Pippin Hobbes Misty Clover Juniper Pretzel Zephyr
""")
# pet animal -> the sound it makes (base form of the verb)
PET_SOUNDS: dict[str, str] = {
    "dog": "bark",
    "cat": "purr",
    "parrot": "squawk",
    "hamster": "squeak",
    "snake": "hiss",
    "duck": "quack",
    "frog": "croak",
    "goat": "bleat",
    "horse": "neigh",
    "pig": "grunt",
    "canary": "sing",
    "donkey": "bray",
    "goose": "honk",
    "rooster": "crow",
    "owl": "hoot",
}
PET_ANIMALS = tuple(PET_SOUNDS)

# relative: gender ("f", "m" or "n" for either)
RELATIVES: dict[str, str] = dict(
    row.split(":")
    for row in _words("""
        mother:f father:m sister:f brother:m cousin:n aunt:f uncle:m grandmother:f grandfather:m
        friend:n neighbour:n daughter:f son:m niece:f nephew:m colleague:n flatmate:n wife:f
        husband:m partner:n stepbrother:m stepsister:f godmother:f godfather:m classmate:n
        landlady:f landlord:m granddaughter:f grandson:m
    """)
)
RELATIVES_PLURAL = _words("""
    parents cousins friends grandparents sisters brothers neighbours children aunts uncles
    colleagues flatmates nieces nephews classmates grandchildren
""")

# profession:workplace (workplace empty when there is no single one)
PROFESSIONS: dict[str, str] = dict(
    row.split(":")
    for row in _words("""
        teacher:school nurse:hospital doctor:hospital farmer: baker:bakery engineer:factory
        lawyer: cook:restaurant waiter:restaurant driver: builder: mechanic:garage
        librarian:library chef:restaurant plumber: electrician: carpenter:workshop
        journalist:newspaper pilot:airport dentist:clinic accountant:bank programmer:office
        scientist:laboratory photographer: painter:studio musician: singer: actor:theatre
        dancer:theatre firefighter: translator:office surgeon:hospital pharmacist:pharmacy
        vet:clinic butcher:market gardener:park tailor:workshop potter:studio jeweller:
        locksmith: cleaner:hotel sailor:harbour soldier: judge: banker:bank designer:studio
        editor:newspaper writer: poet: novelist: historian:museum biologist:laboratory
        chemist:laboratory physicist:university astronomer:observatory geologist:university
        mathematician:university professor:university student:university shopkeeper:market
        receptionist:hotel secretary:office manager:factory welder:factory miner: shepherd:
        beekeeper: blacksmith:forge bookseller:bookshop florist:market hairdresser:salon
        barber:salon optician:clinic midwife:hospital paramedic:hospital psychologist:clinic
        interpreter:embassy lifeguard:beach caretaker:school clerk:office coach:stadium
        referee:stadium athlete:stadium surveyor: zookeeper:zoo ranger: brewer:brewery
        pianist: violinist: drummer: composer: conductor:orchestra sculptor:studio
        illustrator:studio archivist:museum curator:gallery diplomat:embassy mayor: inspector:
        detective: analyst:bank consultant: technician:laboratory nanny: tutor: lecturer:university
    """)
)
# nouns that can head a number-agreement sentence, by what kind of predicate fits them
ANIMALS = _words("""
    dog cat horse cow goat pig chicken duck goose rabbit mouse rat fox wolf bear owl eagle hawk
    crow sparrow pigeon swan frog toad snake lizard turtle tortoise whale dolphin shark seal
    otter beaver squirrel hedgehog badger mole bat bee wasp ant spider beetle butterfly moth
    snail worm crab octopus donkey mule camel elephant giraffe lion tiger zebra monkey gorilla
    kangaroo koala panda parrot penguin flamingo hamster canary lamb calf pony puppy kitten
    heron magpie raven falcon vulture buffalo hippo rhino crocodile leopard cheetah ostrich
    peacock llama alpaca rooster
""")
INVARIANT_PLURALS = frozenset({"sheep", "deer", "fish", "salmon", "trout", "moose", "species"})
OBJECTS = _words("""
    key book lamp umbrella bag wallet phone watch clock mirror candle bottle box basket bucket
    ladder pen pencil notebook map letter parcel ticket camera radio kettle teapot plate bowl
    spoon fork knife cup mug jar blanket pillow towel rug curtain vase painting photograph
    poster calendar envelope postcard ring necklace bracelet suitcase backpack torch compass
    telescope globe chessboard puzzle kite ball doll laptop keyboard printer charger battery
    cushion tray jug sieve whistle lantern helmet rope bell tent statue trophy medal diary album
    saucepan thermometer heater calculator typewriter hourglass
""")
COLOURS = _words("""
    red blue green yellow white black grey brown orange purple pink silver golden cream navy
    turquoise crimson scarlet beige violet lilac maroon teal amber ivory indigo emerald bronze
""")
FOODS = _words("""
    bread cheese rice pasta soup apples oranges bananas grapes pears plums cherries strawberries
    lemons potatoes carrots onions tomatoes cucumbers beans peas lentils mushrooms eggs butter
    honey jam yoghurt porridge cereal pancakes biscuits cake pie salad sandwiches noodles
    chicken fish beef pork sausages bacon ham olives nuts almonds walnuts peanuts chocolate
    sweets crackers toast muffins scones chips crisps peppers spinach cabbage lettuce broccoli
    cauliflower garlic melon watermelon pineapple peaches apricots figs raisins oats barley corn
    dumplings curry stew omelettes pizza tortillas waffles avocados coconuts mangoes kiwis
    blueberries raspberries radishes beetroot celery leeks courgettes aubergines sardines tuna
    prawns mussels oysters tofu hummus couscous granola custard doughnuts pretzels bagels
    croissants
""")
DRINKS = _words("""
    tea coffee water milk juice lemonade cocoa cider beer wine espresso kefir buttermilk chai
    broth
""")
CONTAINERS = _words("cup mug glass bottle jug flask pot")
CLOTHING = _words("""
    coat jacket scarf hat cap jumper sweater shirt blouse dress skirt belt tie raincoat cardigan
    waistcoat apron uniform hoodie beret poncho cloak vest tracksuit
""")
FURNITURE = _words("""
    table chair sofa bed desk shelf bookcase wardrobe cupboard drawer bench stool armchair
    cabinet dresser cot hammock sideboard footstool piano
""")
ROOMS = _words("""
    kitchen bedroom bathroom lounge hallway attic cellar garage study office shed conservatory
    porch pantry loft basement nursery
""")
PLACES = _words("""
    library market station harbour bakery museum park hospital school church cinema theatre
    pharmacy supermarket square bridge castle cathedral gallery stadium zoo airport factory
    farm mill garden playground gym cafe restaurant pub hotel bank courthouse lighthouse pier
    campsite laboratory workshop warehouse bookshop cemetery monastery palace tower fountain
    observatory aquarium bazaar dock marina orchard vineyard greenhouse barn stable allotment
    kindergarten university college clinic salon forge embassy brewery studio newspaper
    orchestra forest beach
""")
GEO = _words("""
    river lake sea coast mountains hills forest woods valley beach cliffs desert marsh meadow
    moor canyon glacier island bay stream waterfall pond fields volcano caves dunes fjord lagoon
    estuary reef ridge heath plateau
""")
BUSINESSES = _words("""
    bakery cafe restaurant bookshop workshop studio salon brewery hotel pub gallery garage
    pharmacy clinic butchery florist's
""")
SETTLEMENTS = _words("town village city suburb hamlet port district")
DWELLINGS = _words("""
    flat house cottage apartment bungalow farmhouse cabin villa houseboat studio townhouse
    lodge hut
""")
TREES = _words("""
    oak birch pine willow maple elm beech chestnut cherry cedar fir spruce yew poplar sycamore
    hazel alder olive palm cypress magnolia juniper
""")
PLANTS = _words("""
    rose tulip daisy lily sunflower daffodil orchid violet poppy geranium cactus fern bluebell
    snowdrop crocus iris marigold peony dahlia carnation pansy hyacinth bonsai begonia freesia
    foxglove primrose buttercup
""")
INSTRUMENTS = _words("""
    piano guitar violin cello flute clarinet trumpet drums saxophone harp accordion banjo
    ukulele organ bass trombone oboe harmonica mandolin tuba bagpipes xylophone viola recorder
    tambourine
""")
SPORTS = _words("""
    football tennis chess basketball volleyball rugby cricket golf hockey badminton baseball
    handball netball darts cards poker billiards snooker backgammon dominoes scrabble draughts
""")
HOBBIES = _words("""
    reading gardening swimming cycling hiking running painting drawing knitting sewing fishing
    sailing climbing dancing singing cooking baking skiing skating surfing rowing camping
    birdwatching photography pottery woodwork juggling jogging travelling stargazing kayaking
    yoga archery fencing karate judo boxing wrestling crochet embroidery origami calligraphy
    carving beekeeping quilting
""")
OUTDOOR_HOBBIES = _words("""
    walking hiking cycling fishing sailing climbing camping birdwatching kayaking running
    rowing stargazing
""")
READABLES = _words("""
    book novel newspaper magazine comic poem story biography cookbook guidebook atlas
    encyclopedia dictionary thriller journal report essay textbook manual pamphlet play
""")
TOPICS = _words("""
    history science music art politics philosophy astronomy geology birds insects ships trains
    gardening architecture medicine economics mathematics poetry dinosaurs volcanoes whales
    pirates kings castles mountains deserts cooking fashion sport football painting religion
    languages climate farming engineering chemistry biology physics geography literature
    photography psychology law money travel space robots electricity bridges
""")
SUBJECTS = _words("""
    maths history geography chemistry physics biology art music literature economics law
    medicine philosophy engineering architecture psychology astronomy sociology linguistics
""")
VEHICLES = _words("""
    car bus train bicycle van lorry tram taxi boat ferry ship plane helicopter motorbike
    scooter tractor canoe yacht submarine ambulance sledge skateboard carriage cart barge glider
""")
TOOLS = _words("""
    hammer saw drill spade shovel rake hoe axe chisel screwdriver wrench spanner needle brush
    broom mop trowel wheelbarrow hose sickle crowbar mallet pickaxe paintbrush stapler ruler
""")
MATERIALS = _words("""
    wood stone glass steel iron brick clay paper cotton wool silk leather plastic copper gold
    marble concrete bamboo canvas linen rubber tin brass cardboard velvet denim lace porcelain
    granite
""")
EMOTIONS = _words("""
    happy sad tired angry nervous excited proud bored calm worried lonely grateful curious
    surprised confused cheerful anxious relieved embarrassed hopeful jealous homesick sleepy
    hungry thirsty restless content furious delighted disappointed
""")
THING_ADJECTIVES = _words("""
    old new small big large tiny huge long short heavy light bright dark clean dirty cheap
    expensive beautiful ugly strange simple plain fancy modern ancient broken rusty shiny dusty
    wooden empty round square flat smooth rough sharp thick thin fragile sturdy elegant shabby
    tidy lovely pretty battered polished dented faded spotless antique enormous delicate
    precious sticky crooked
""")
PERSON_ADJECTIVES = _words("""
    friendly kind young old clever busy quiet patient strict gentle lazy brave shy polite rude
    generous honest funny serious careful cheerful wise clumsy elderly tall stubborn grumpy
    modest proud calm talented cautious reliable forgetful ambitious curious sensible
""")
ANIMAL_ADJECTIVES = _words("""
    old young hungry noisy friendly shy sleepy healthy clever fast calm restless fierce gentle
    tame nervous curious lazy playful skinny huge tiny grey brown spotted striped
""")
READABLE_ADJECTIVES = _words("""
    long short thick thin old new famous strange funny sad boring fascinating popular forgotten
    battered beautiful rare dusty
""")
PLANT_ADJECTIVES = _words("small tall leafy little healthy tiny fragrant thirsty enormous flowering")
CLOTHING_ADJECTIVES = COLOURS + _words("woollen warm thin old new long faded striped spotted checked")
WEATHER_ADJECTIVES = _words("""
    cold warm sunny rainy windy cloudy foggy stormy snowy frosty humid chilly mild grey wet dry
    bitter gentle
""")
WEATHER_NOUNS = _words("storm rain snow fog wind heat flood frost hail gale heatwave")
MUSIC = _words("jazz folk blues opera reggae rock soul punk techno hip-hop salsa gospel")
MEALS = _words("breakfast lunch dinner supper")
DAYPARTS = _words("morning afternoon evening night day")
WEEKDAYS = _words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
MONTHS = _words("January February March April May June July August September October November December")
SEASONS = _words("summer winter spring autumn")
NUMBERS = _words("two three four five six seven eight nine ten eleven twelve")
AGES = _words("six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen")
TIMEUNITS = _words("week month summer winter weekend year afternoon")
PAST_TIMES = (
    "last week",
    "yesterday",
    "last month",
    "last year",
    "last summer",
    "last winter",
    "the other day",
    "a few weeks ago",
    "two days ago",
    "on Saturday",
    "in March",
    "last spring",
    "in the autumn",
    "on Friday night",
    "three years ago",
    "before Christmas",
)
FREQUENCIES = (
    "every morning",
    "every evening",
    "at weekends",
    "on Sundays",
    "twice a week",
    "once a month",
    "every night",
    "in the evenings",
    "before breakfast",
    "after work",
    "every summer",
    "whenever possible",
    "on rainy days",
    "during lunch breaks",
    "every other week",
)

# irregular forms of the verbs used below: base -> past
IRREGULAR_PAST: dict[str, str] = dict(
    row.split(":")
    for row in _words("""
        be:was have:had do:did go:went make:made take:took buy:bought bring:brought
        think:thought teach:taught catch:caught find:found sell:sold tell:told hold:held
        keep:kept sleep:slept feel:felt leave:left lend:lent send:sent spend:spent build:built
        lose:lost meet:met read:read feed:fed speak:spoke break:broke choose:chose wear:wore
        swim:swam sing:sang drink:drank run:ran come:came become:became give:gave forget:forgot
        get:got write:wrote ride:rode drive:drove eat:ate fly:flew grow:grew know:knew
        throw:threw draw:drew see:saw sit:sat stand:stood hang:hung dig:dug hide:hid
        shake:shook wake:woke steal:stole freeze:froze light:lit cut:cut put:put hurt:hurt
        pay:paid say:said lay:laid sew:sewed blow:blew understand:understood
    """)
)
DOUBLED_FINAL = frozenset(
    _words("""
    stop plan drop shop jog chat knit travel hug grab admit prefer scrub wrap trim skip chop mop
    nod pat tap trip
""")
)
IRREGULAR_PLURAL: dict[str, str] = dict(
    row.split(":")
    for row in _words("""
        mouse:mice goose:geese wolf:wolves calf:calves knife:knives shelf:shelves child:children
        potato:potatoes tomato:tomatoes buffalo:buffaloes cactus:cacti leaf:leaves
        person:people man:men woman:women thief:thieves hero:heroes volcano:volcanoes
        diary:diaries library:libraries compass:compasses midwife:midwives scarf:scarves
    """)
)
A_BEFORE_VOWEL = frozenset(_words("uniform university unicorn useful one european ukulele union unique usual"))
AN_BEFORE_H = frozenset(_words("hour honest honour heir hourglass"))


def plural(noun: str) -> str:
    """The plural of a regular or listed English noun."""
    if noun in IRREGULAR_PLURAL:
        return IRREGULAR_PLURAL[noun]
    if noun.endswith(("s", "sh", "ch", "x", "z")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


def third_singular(verb: str) -> str:
    """``she ___``: speaks, goes, flies, has."""
    if verb == "have":
        return "has"
    if verb == "be":
        return "is"
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in ("a", "e", "i", "o", "u"):
        return verb[:-1] + "ies"
    return verb + "s"


def past(verb: str) -> str:
    """The simple past; ``be`` gives ``was`` (use :attr:`Pronouns.was` for agreement)."""
    if verb in IRREGULAR_PAST:
        return IRREGULAR_PAST[verb]
    if verb in DOUBLED_FINAL:
        return verb + verb[-1] + "ed"
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2:-1] not in ("a", "e", "i", "o", "u"):
        return verb[:-1] + "ied"
    return verb + "ed"


def with_article(phrase: str) -> str:
    """``a`` or ``an`` before ``phrase``, by the sound of its first word."""
    first = phrase.split(" ", 1)[0].lower()
    if first in AN_BEFORE_H:
        return "an " + phrase
    if first[0] in "aeiou" and first not in A_BEFORE_VOWEL:
        return "an " + phrase
    return "a " + phrase


# --------------------------------------------------------------------------------------------
# Deterministic draws
# --------------------------------------------------------------------------------------------


class Vocab:
    """Words drawn with Zipf-Mandelbrot weights 1 / (rank + offset).

    The weights are integers and the draw is ``int(random() * total)``, so a draw depends only on
    the Mersenne Twister's doubles, never on a platform's ``pow`` or on ``random.choices``.
    """

    __slots__ = ("words", "cumulative", "total")

    def __init__(self, words: Sequence[str], offset: int = 2) -> None:
        self.words: tuple[str, ...] = tuple(words)
        running = 0
        cumulative: list[int] = []
        for rank in range(1, len(self.words) + 1):
            running += 10**9 // (rank + offset)
            cumulative.append(running)
        self.cumulative = cumulative
        self.total = running

    def draw(self, rng: random.Random) -> str:
        return self.words[bisect_right(self.cumulative, int(rng.random() * self.total))]


def pick(rng: random.Random, items: Sequence[_T]) -> _T:
    """A uniform choice that only uses ``random()`` (``choice`` changed in the past)."""
    return items[int(rng.random() * len(items))]


def between(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in ``[low, high]``."""
    return low + int(rng.random() * (high - low + 1))


VOCABS: dict[str, Vocab] = {
    "country": Vocab([c.name for c in COUNTRIES], offset=30),
    "animal": Vocab(ANIMALS),
    "pet": Vocab(PET_ANIMALS, offset=4),
    "petname": Vocab(PET_NAMES, offset=8),
    "profession": Vocab(list(PROFESSIONS), offset=3),
    "object": Vocab(OBJECTS),
    "colour": Vocab(COLOURS),
    "food": Vocab(FOODS),
    "drink": Vocab(DRINKS),
    "container": Vocab(CONTAINERS),
    "clothing": Vocab(CLOTHING),
    "furniture": Vocab(FURNITURE),
    "room": Vocab(ROOMS),
    "place": Vocab(PLACES),
    "geo": Vocab(GEO),
    "settlement": Vocab(SETTLEMENTS),
    "dwelling": Vocab(DWELLINGS),
    "tree": Vocab(TREES),
    "plant": Vocab(PLANTS),
    "instrument": Vocab(INSTRUMENTS),
    "sport": Vocab(SPORTS),
    "hobby": Vocab(HOBBIES),
    "outdoor": Vocab(OUTDOOR_HOBBIES),
    "readable": Vocab(READABLES),
    "topic": Vocab(TOPICS),
    "subject": Vocab(SUBJECTS),
    "vehicle": Vocab(VEHICLES),
    "tool": Vocab(TOOLS),
    "material": Vocab(MATERIALS),
    "emotion": Vocab(EMOTIONS),
    "adj": Vocab(THING_ADJECTIVES),
    "personadj": Vocab(PERSON_ADJECTIVES),
    "animaladj": Vocab(ANIMAL_ADJECTIVES),
    "weather": Vocab(WEATHER_ADJECTIVES),
    "weathernoun": Vocab(WEATHER_NOUNS),
    "music": Vocab(MUSIC),
    "meal": Vocab(MEALS, offset=4),
    "daypart": Vocab(DAYPARTS),
    "weekday": Vocab(WEEKDAYS, offset=6),
    "month": Vocab(MONTHS, offset=10),
    "season": Vocab(SEASONS, offset=4),
    "num": Vocab(NUMBERS),
    "age": Vocab(AGES, offset=6),
    "timeunit": Vocab(TIMEUNITS),
    "time": Vocab(PAST_TIMES),
    "freq": Vocab(FREQUENCIES),
    "rel": Vocab(list(RELATIVES)),
    "rels": Vocab(RELATIVES_PLURAL),
    "workplace": Vocab([p for p in dict.fromkeys(PROFESSIONS.values()) if p]),
    "business": Vocab(BUSINESSES, offset=3),
    "plantadj": Vocab(PLANT_ADJECTIVES),
    "clothingadj": Vocab(CLOTHING_ADJECTIVES, offset=6),
    "readableadj": Vocab(READABLE_ADJECTIVES),
    "livestock": Vocab(_words("sheep goats pigs chickens cows ducks geese horses turkeys"), offset=4),
    "ornament": Vocab(_words("vase plate bowl jug lamp clock mirror statue"), offset=4),
    "brittle": Vocab(_words("glass porcelain clay marble stone brass"), offset=4),
}
# which adjectives describe which kind of noun, for {aj:CLASS} and {plj:CLASS} ("adj" otherwise)
ADJECTIVE_FOR: dict[str, str] = {
    "animal": "animaladj",
    "profession": "personadj",
    "plant": "plantadj",
    "clothing": "clothingadj",
    "readable": "readableadj",
}


# --------------------------------------------------------------------------------------------
# Dependencies: what a story's text must satisfy, and a parser that finds every instance
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dependency:
    """One kind of long-range pair: a cue word and a later word that the cue determines."""

    kind: str
    cue: str
    target: str
    rule: str
    example: str


DEPENDENCIES: dict[str, Dependency] = {
    d.kind: d
    for d in (
        Dependency(
            "language",
            "the country in a story's first sentence",
            "the word after 'fluent', 'first language is' or 'count(s) in'",
            "the country's language (COUNTRIES)",
            "I grew up in France. ... I speak fluent French.",
        ),
        Dependency(
            "dish",
            "the country in a story's first sentence",
            "the dish in 'favourite dish is still X', 'miss(es) the X that', 'special occasions ... cook(s) X'",
            "the country's dish (COUNTRIES)",
            "Maria grew up in Japan. ... Her favourite dish is still sushi.",
        ),
        Dependency(
            "currency",
            "the country in a story's first sentence",
            "the currency in 'a few X in a drawer', 'paid for everything in X', 'prices in X'",
            "the country's currency (COUNTRIES)",
            "I was born in Russia ... Back then, I paid for everything in roubles.",
        ),
        Dependency(
            "capital",
            "the country in a story's first sentence",
            "the city in 'often visit(s) X', 'still lives in X', 'back to X every', 'streets of X by heart'",
            "the country's capital (COUNTRIES)",
            "Omar grew up in Egypt. ... He often visits Cairo.",
        ),
        Dependency(
            "pronoun",
            "the character's name in a story's first sentence",
            "every he/him/his, she/her or they/them/their later in the story",
            "the pronoun of the name's gender (FEMALE_NAMES, MALE_NAMES, NEUTRAL_NAMES)",
            "Sam grew up in Peru. ... They speak fluent Spanish.",
        ),
        Dependency(
            "name",
            "the character's name in a story's first sentence",
            "every later person's name in the story",
            "the same name",
            "Hugo grew up in Italy. ... Hugo often visits Rome.",
        ),
        Dependency(
            "pet",
            "the animal in 'a X called NAME'",
            "the verb right after NAME later in the story",
            "the animal's sound (PET_SOUNDS), present or past",
            "I have a dog called Biscuit. ... Biscuit barks whenever a plumber walks past the gate.",
        ),
        Dependency(
            "number",
            "the subject noun of 'The NOUN that/which/who/PREP ...'",
            "the first is/are/was/were/has/have after it in the sentence",
            "singular noun: is/was/has; plural noun: are/were/have",
            "The dogs that the old farmer keeps behind the barn are hungry.",
        ),
    )
}

# the phrases around a payoff word, (\w+) being the word; only payoff sentences use them
PAYOFF_PATTERNS: dict[str, tuple[str, ...]] = {
    "language": (r"\bfluent (\w+)", r"\bfirst language is (\w+)", r"\bcounts? in (\w+)"),
    "dish": (r"\bfavourite dish is still (\w+)", r"\bmiss(?:es)? the (\w+) that", r"\bspecial occasions \w+ cooks? (\w+)"),
    "currency": (r"\ba few (\w+) in a drawer", r"\bpaid for everything in (\w+)", r"\bprices in (\w+)"),
    "capital": (r"\boften visits? (\w+)", r"\bstill lives in (\w+)", r"\bback to (\w+) every", r"\bstreets of (\w+) by heart"),
}
# all of them in one expression, the group named after the kind: one pass over each line
_PAYOFF = re.compile(
    "|".join(
        pattern.replace("(\\w+)", f"(?P<{kind}{index}>\\w+)")
        for kind, patterns in PAYOFF_PATTERNS.items()
        for index, pattern in enumerate(patterns)
    )
)
NUMBER_PATTERN = re.compile(
    r"^The (\w+) (?:that|which|who|on|in|under|behind|beside|near|from|at|with|of)\b.*?\b(is|are|was|were|has|have)\b"
)
PET_INTRO = re.compile(r"\ban? (\w+) called (\w+)")
COPULA_NUMBER = {"is": False, "was": False, "has": False, "are": True, "were": True, "have": True}


class Link(NamedTuple):
    """One instance of a dependency in a story: cue word, target word, and how far apart they are
    in whitespace-separated tokens of the story's text (lines joined)."""

    kind: str
    cue: str
    target: str
    line: int  # index of the target's line in the story
    distance: int
    ok: bool


_STRIP = ".,;:!?\"'()"


def _bare(token: str) -> str:
    word = token.strip(_STRIP)
    return word.removesuffix("'s")


def _agrees(kind: str, cue: str, target: str) -> bool:
    if kind in ATTRIBUTES:
        country = COUNTRY_BY_NAME.get(cue)
        return country is not None and getattr(country, kind) == target
    if kind == "pronoun":
        return THIRD_PERSON_PRONOUNS.get(target) == GENDER_OF_NAME.get(cue)
    if kind == "name":
        return cue == target
    if kind == "pet":
        sound = PET_SOUNDS.get(cue)
        return sound is not None and target in (third_singular(sound), past(sound))
    if kind == "number":
        return COPULA_NUMBER.get(target) == (cue != singular_of(cue))
    return False


AGREEMENT_HEADS: dict[str, str] = {
    **{w: "animal" for w in ANIMALS if w not in INVARIANT_PLURALS},
    **{w: "object" for w in OBJECTS if w not in INVARIANT_PLURALS},
    **dict.fromkeys(PROFESSIONS, "person"),
}  # nouns that head number-agreement sentences, by the kind of predicate that fits them
_SINGULAR: dict[str, str] = {plural(word): word for word in AGREEMENT_HEADS}


def singular_of(noun: str) -> str:
    """The singular of a plural agreement head, or the noun itself."""
    return _SINGULAR.get(noun, noun)


class _StoryText:
    """A story's lines with every whitespace token's position in the whole story."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines
        self.words: list[list[str]] = []  # tokens without punctuation or a possessive 's
        self.starts: list[int] = []  # position of each line's first token
        position = 0
        for line in lines:
            tokens = line.split()
            self.starts.append(position)
            self.words.append([_bare(t) for t in tokens])
            position += len(tokens)

    def position(self, line: int, char_offset: int) -> int:
        """The story position of the token that starts at ``char_offset`` in ``line``."""
        return self.starts[line] + len(self.lines[line][:char_offset].split())

    def first(self, vocabulary: dict[str, object]) -> tuple[str | None, int]:
        """The first word of the first line that is in ``vocabulary``, and its position."""
        words = self.words[0] if self.words else []
        for offset, word in enumerate(words):
            if word in vocabulary:
                return word, offset
        return None, -1


def _link(kind: str, cue: str, cue_pos: int, target: str, line: int, target_pos: int) -> Link:
    return Link(kind, cue, target, line, target_pos - cue_pos, _agrees(kind, cue, target))


def _payoff_links(text: _StoryText) -> Iterator[Link]:
    country, country_pos = text.first(COUNTRY_BY_NAME)
    if country is None:
        return
    for index, line in enumerate(text.lines):
        for match in _PAYOFF.finditer(line):
            group = match.lastgroup or ""
            kind = group.rstrip("0123456789")
            yield _link(kind, country, country_pos, match.group(group), index, text.position(index, match.start(group)))


def _character_links(text: _StoryText) -> Iterator[Link]:
    """Pronouns and names after the character's first mention. In a narrator's story the cue is
    "I" and any he/she/they is a link that does not agree."""
    name, name_pos = text.first(GENDER_OF_NAME)
    for index, words in enumerate(text.words):
        for offset, word in enumerate(words):
            here = text.starts[index] + offset
            if here <= name_pos:
                continue
            if word.lower() in THIRD_PERSON_PRONOUNS:
                yield _link("pronoun", name or "I", name_pos, word.lower(), index, here)
            elif name is not None and word in GENDER_OF_NAME:
                yield _link("name", name, name_pos, word, index, here)


def _pet_links(text: _StoryText) -> Iterator[Link]:
    pets: dict[str, tuple[str, int]] = {}  # pet name -> (animal, position of the animal)
    for index, line in enumerate(text.lines):
        for match in PET_INTRO.finditer(line):
            pets[match.group(2)] = (match.group(1), text.position(index, match.start(1)))
        words = text.words[index]
        for offset, word in enumerate(words[:-1]):
            here = text.starts[index] + offset
            if word in pets and here > pets[word][1] + 2:  # not the introduction itself
                animal, animal_pos = pets[word]
                yield _link("pet", animal, animal_pos, words[offset + 1], index, here + 1)


def _number_links(text: _StoryText) -> Iterator[Link]:
    for index, line in enumerate(text.lines):
        match = NUMBER_PATTERN.match(line)
        if match and singular_of(match.group(1)) in AGREEMENT_HEADS:
            head_pos = text.starts[index] + 1
            yield _link("number", match.group(1), head_pos, match.group(2), index, text.position(index, match.start(2)))


def find_links(lines: Sequence[str]) -> list[Link]:
    """Every dependency instance in one story's text (its lines, without blank separators).

    Works from the text alone, so it checks the generator as much as it documents it: a link
    whose target does not agree with its cue comes back with ``ok=False``.
    """
    text = _StoryText(lines)
    return [*_payoff_links(text), *_character_links(text), *_pet_links(text), *_number_links(text)]


# --------------------------------------------------------------------------------------------
# The grammar
# --------------------------------------------------------------------------------------------

AGREEMENT_VERBS: dict[str, tuple[str, ...]] = {
    "animal": _words("own feed keep find rescue photograph sell buy train spot chase watch"),
    "object": _words("buy find paint fix sell order lose borrow keep own use repair polish wrap"),
    "person": _words("hire meet trust thank invite mention train visit admire describe remember know recommend"),
}
AGREEMENT_PREDICATES: dict[str, tuple[str, ...]] = {
    "animal": _words("""
        hungry noisy friendly shy sleepy old young healthy clever calm restless fierce gentle tame
        nervous curious lazy playful
    """),
    "object": _words("rusty broken missing expensive cheap dusty new heavy fragile shiny useless valuable ancient sticky"),
    "person": _words("tired busy friendly strict kind patient late famous nervous cheerful generous rude reliable"),
}
AGREEMENT_PERFECT: dict[str, tuple[str, ...]] = {
    "animal": ("escaped", "disappeared", "grown fat", "learned a new trick", "been fed", "run away"),
    "object": ("disappeared", "been repaired", "gone missing", "arrived", "been sold", "been stolen"),
    "person": ("left", "retired", "moved away", "arrived", "gone home", "been promoted", "changed jobs"),
}
AGREEMENT_PLACES: dict[str, tuple[str, ...]] = {
    "animal": _words("field barn meadow pond river stable zoo garden woods hills orchard"),
    "object": _words("shelf drawer cupboard table desk attic cellar box window sofa"),
    "person": _words("hospital school factory bakery library market station museum hotel bank"),
}
AGREEMENT_PREPOSITIONS: dict[str, tuple[str, ...]] = {
    "animal": ("in the", "near the", "behind the", "beside the"),
    "object": ("on the", "in the", "under the", "behind the", "beside the"),
    "person": ("from the", "at the", "near the"),
}
AGREEMENT_TAILS_PAST = ("last week", "last summer", "at the market", "in the spring", "a year ago", "on Monday")
AGREEMENT_TAILS_PRESENT = ("every morning", "at weekends", "for a living", "with great care", "these days")
LOCATION_ADJECTIVES = _words("old new big small quiet dusty busy crowded empty")


class Template:
    """A sentence pattern: literal text and ``{slot}`` or ``{slot:argument}`` parts.

    Compiled once, so that writing a sentence is a loop over parts rather than a regex pass.
    """

    _SLOT = re.compile(r"\{(\w+)(?::([^}]*))?\}")
    __slots__ = ("text", "parts")

    def __init__(self, text: str) -> None:
        self.text = text
        self.parts: list[str | tuple[str, str]] = []
        position = 0
        for match in self._SLOT.finditer(text):
            if match.start() > position:
                self.parts.append(text[position : match.start()])
            self.parts.append((match.group(1), match.group(2) or ""))
            position = match.end()
        if position < len(text):
            self.parts.append(text[position:])


def _templates(block: str) -> tuple[Template, ...]:
    return tuple(Template(line.strip()) for line in block.strip().splitlines() if line.strip())


# Slots (Writer.slots): the character: {S} subject, the name or a pronoun; {s} subject pronoun;
# {o} object pronoun; {p} possessive; {poss} "my" or "Maria's"; {v:VERB} present tense agreeing
# with the last subject; {be}, {was} likewise. Words: {w:CLASS} a word of a class in VOCABS;
# {a:CLASS} with an article; {aj:CLASS} article, adjective, word; {pl:CLASS} plural;
# {plj:CLASS} adjective and plural; {or:x|y|z} one of the literals. Phrases: {act} / {actp} a verb
# phrase, present agreeing or past; {job} "a nurse at the hospital"; {relname} "sister Anna";
# {anyname}. Story words: {home:ATTRIBUTE} the character's country or its language, dish,
# currency or capital (the payoff); {other:ATTRIBUTE} another country's (a distractor); {apet},
# {petname}, {sound3}, {soundp} the story's pet, its name, its sound now or in the past.

ORIGINS = _templates("""
    {S} grew up in {home:country}.
    {S} grew up in {home:country}, in {aj:settlement} near the {w:geo}.
    {S} {was} born in {home:country} and lived there until {s} {was} {w:age}.
    {S} spent {p} whole childhood in {home:country}.
    As a child, {S} lived in {home:country} with {p} {w:rels}.
    {S} {was} raised in {home:country} by {p} {or:grandparents|parents|aunt|grandmother|uncle}.
    {S} {was} born in {a:settlement} in {home:country}.
    {poss} family comes from {home:country}.
""")
IMMEDIATE_PAYOFFS: dict[str, tuple[Template, ...]] = {
    "language": _templates("""
        , so {s} {v:speak} fluent {home:language}.
        , and to this day {s} {v:speak} fluent {home:language}.
    """),
    "dish": _templates("""
        , which is why {p} favourite dish is still {home:dish}.
    """),
    "currency": _templates("""
        , and back then {s} paid for everything in {home:currency}.
    """),
    "capital": _templates("""
        , so {s} often {v:visit} {home:capital}.
    """),
}
PAYOFFS: dict[str, tuple[Template, ...]] = {
    "language": _templates("""
        {S} {v:speak} fluent {home:language}.
        {S} still {v:speak} fluent {home:language} with {p} {w:rels}.
        Even now, {s} {v:speak} fluent {home:language} at home.
        {p} first language is {home:language}.
        {S} still {v:count} in {home:language} when {s} {be} tired.
        Because of that childhood, {s} {v:speak} fluent {home:language}.
    """),
    "dish": _templates("""
        {p} favourite dish is still {home:dish}.
        {S} {v:miss} the {home:dish} that {p} grandmother used to make.
        On special occasions {s} {v:cook} {home:dish} for {p} {w:rels}.
        Whatever {s} {v:eat} abroad, {p} favourite dish is still {home:dish}.
    """),
    "currency": _templates("""
        {S} still {v:keep} a few {home:currency} in a drawer.
        Back then, {s} paid for everything in {home:currency}.
        {S} still {v:think} about prices in {home:currency}.
        Out of habit, {s} still {v:count} the prices in {home:currency}.
    """),
    "capital": _templates("""
        {S} often {v:visit} {home:capital}.
        {p} {w:rel} still lives in {home:capital}.
        {S} {v:fly} back to {home:capital} every {w:season}.
        {S} {v:know} the streets of {home:capital} by heart.
        {S} {v:travel} back to {home:capital} every chance {s} {v:get}.
    """),
}
PET_INTROS = _templates("""
    {S} {v:have} {apet} called {petname}.
    Years ago {s} adopted {apet} called {petname}.
    {S} {v:share} {p} {w:dwelling} with {apet} called {petname}.
    {S} {v:look} after {apet} called {petname}.
""")
PET_PAYOFFS = _templates("""
    {petname} {sound3} whenever {aj:profession} walks past the {or:house|window|gate|fence}.
    Every evening, {petname} {sound3} {or:at the door|by the window|in the garden|on the stairs}.
    Last night {petname} {soundp} for almost an hour.
    {petname} {soundp} so loudly that the {w:profession} next door complained.
    Early each morning {petname} {sound3} until someone opens the {or:door|curtains|window}.
""")
PROTAGONIST_FILLERS = _templates("""
    {S} {v:work} as {job}.
    On {w:weekday}s {s} usually {v:go} to the {w:place} with {p} {w:rel}.
    {p} {w:rel} lives in {aj:dwelling} near the {w:geo}.
    {w:time}, {s} bought {aj:object} at the {w:place}.
    {S} {v:prefer} {w:hobby} to {w:hobby}.
    When {s} {was} {w:age}, {s} wanted to become {a:profession}.
    {S} {be} learning to play the {w:instrument}.
    Every morning {s} {v:drink} {a:container} of {w:drink} before work.
    {p} favourite colour {or:is|has always been} {w:colour}.
    Last {w:season}, {s} painted the {w:room} {w:colour}.
    {S} {v:read} {aj:readable} about {w:topic} {w:freq}.
    {S} {v:spend} most weekends {w:outdoor} near the {w:geo}.
    {S} lost {p} {w:object} on the way to the {w:place}, but {a:profession} found it.
    {S} {v:keep} {aj:plant} on the kitchen windowsill.
    The {w:furniture} in {p} {w:room} is made of {w:material}.
    One day {s} {v:want} to see {other:capital}.
    {S} {act} {w:freq}.
    {S} met {aj:profession} who {actp} {w:time}.
    {p} {w:rels} think that {s} {v:work} too hard.
    {S} {be} {or:sad|upset|annoyed|disappointed|grumpy|miserable} because {p} {w:object} {or:broke|went missing|stopped working}.
    After {w:meal}, {s} usually {v:go} for a walk along the {w:geo}.
    {S} {v:have} {w:num} {pl:animal} and {aj:animal}.
    {S} grew tired of {w:hobby} and took up {w:hobby} instead.
    {S} once spent a whole {w:timeunit} {w:outdoor}.
    {S} {v:wear} {aj:clothing} even in {w:season}.
    Nobody in {p} family knows that {s} {be} afraid of {pl:animal}.
    {S} {v:write} long letters to {p} {w:rel} in {other:capital}.
    {S} studied {w:subject} at {or:university|college|night school}.
    {S} {v:cycle} to work unless it rains.
    {S} {v:like} {pl:animal} but {be} allergic to {pl:animal}.
    {S} {v:dream} of opening {a:business} one day.
    Whenever {s} {v:feel} {w:emotion}, {s} {v:listen} to {w:music}.
    {S} {v:own} {w:num} {pl:object}, and every one is {w:colour}.
    {S} fixed the {w:furniture} with {a:tool} and a lot of patience.
    {p} {w:rel} works as {job}.
    {p} {w:rels} run a small {w:business} near the {w:geo}.
    {S} moved to a flat above {a:business} last {w:season}.
    It took {o} {w:num} years to learn to play the {w:instrument} properly.
    Friends say that {s} {be} {w:personadj} but a little {or:stubborn|grumpy|forgetful|clumsy|lazy|shy|cautious|rude|proud}.
    Last {w:weekday}, {s} cooked {w:food} and {w:food} for {p} {w:rels}.
    {S} {v:have} a habit of humming {w:music} songs while {s} {v:cook}.
    {S} {v:play} {w:sport} with {p} {w:rels} {w:freq}.
    {S} {v:keep} {p} {w:tool} in the {w:room}, next to an old {w:object}.
    {S} {v:collect} old {pl:object} and {pl:object}.
    {S} {was} {w:emotion} when the {w:vehicle} finally arrived.
    Most evenings {s} {v:sit} in the {w:room} and {v:listen} to the radio.
    {S} {v:grow} {pl:plant} and {pl:plant} in {p} garden.
    {S} {v:plan} to learn {other:language} next {w:season}.
    {S} {v:borrow} {pl:readable} from the library {w:freq}.
    The {or:best|worst} day of {p} life was {a:weekday} in {w:month}.
    {S} {v:think} that {w:subject} is harder than {w:subject}.
    {S} repaired the {w:vehicle} with help from {p} {w:rel}.
    {S} {v:sell} {plj:object} at the market on {w:weekday}s.
""")
FIRST_PERSON_FILLERS = _templates("""
    My {relname} lives in {other:capital} and works as {job}.
    My friend {anyname} and I went {w:outdoor} {w:time}.
    {anyname}, my {or:oldest|closest|best} friend, collects {pl:object}.
    I borrowed {aj:readable} from my {relname}.
    My {relname} {or:teaches|studies} {w:subject} at the university.
    My {relname} gave me {aj:clothing} for my birthday.
""")
WORLD_FILLERS = _templates("""
    It rained all {w:daypart}, and the {w:geo} {or:flooded|turned to mud|looked grey}.
    {w:season} came early that year.
    {a:weather} wind blew across the {w:geo} all night.
    The {w:business} on the corner sells {w:food} and {w:food}.
    In {w:month}, the {w:tree} trees along the {w:geo} turn {or:red|golden|yellow|brown}.
    {aj:animal} was sleeping under the {w:furniture}.
    Nobody knows who left {aj:object} outside the {w:place}.
    According to the radio, it will be {w:weather} {or:tomorrow|all week|at the weekend}.
    Most {pl:profession} in town start work before {or:six|seven|eight} o'clock.
    {pl:animal} are {or:often|rarely|sometimes} seen near the {w:geo} in {w:season}.
    Some people believe that {w:colour} is a lucky colour.
    Last {w:weekday}, the {w:place} closed early because of the {w:weathernoun}.
    Every {w:weekday}, a {or:lorry|van|truck|cart} full of {w:livestock} passes through the {w:settlement}.
    On clear nights you can see {or:the moon|the stars|a comet|Venus|Mars} from the {w:geo}.
    {aj:profession} repaired the {w:object} in {or:ten minutes|an hour|two days}.
    Tourists from {other:country} filled the {w:place} all {w:season}.
    A shop near the station sells {other:language} newspapers.
    Every morning {a:vehicle} to {other:capital} leaves at {or:six|seven|nine|noon}.
    Children in the {w:settlement} learn to {or:swim|ski|sail|ride} at a young age.
    Someone has painted the {w:place} {w:colour} again.
    {a:colour} {w:vehicle} stopped outside the {w:place}, and {a:profession} got out.
    In the {w:room}, everything smelled of {w:food} and old {pl:readable}.
    Old {pl:object} are worth a lot of money these days.
    On {w:weekday}, the local team lost at {w:sport} again.
    In this part of the country, {w:sport} is more popular than {w:sport}.
    {a:weather} {w:daypart} is perfect for {w:hobby}.
    Somebody planted {pl:plant} all along the {w:geo}.
    {a:ornament} made of {w:brittle} fell off the {w:furniture} and broke.
    The {w:geo} looked {w:weather} and {w:weather} that {w:daypart}.
    Every {w:season}, the {w:settlement} holds a festival of {w:music} music.
    Half of the {w:settlement} came to see the new {w:vehicle}.
    It was so {w:weather} that {w:daypart} that the {w:place} stayed closed.
    {a:tree} tree fell across the road during the {w:weathernoun}.
    At noon the bells of the {or:church|cathedral|monastery|tower|school} rang {w:num} times.
    {a:personadj} {w:profession} taught the children how to make {pl:object} out of {or:clay|wood|paper|cardboard|wire}.
""")


def _check_no_pronouns(templates: Iterable[Template]) -> None:
    """World fillers run in third-person stories, so they must use no personal pronoun that the
    pronoun dependency would read as the character's."""
    banned = set(THIRD_PERSON_PRONOUNS)
    for template in templates:
        for part in template.parts:
            if isinstance(part, str) and banned & set(re.findall(r"[a-z]+", part.lower())):
                raise AssertionError(f"pronoun in world filler: {template.text!r}")


_check_no_pronouns(WORLD_FILLERS)

# verb phrases for {act}: verb and what it takes
ACTIVITIES: tuple[tuple[str, str], ...] = tuple(
    tuple(row.split(":"))
    for row in _words("""
        cook:food eat:food buy:food sell:food drink:drink read:readable write:readable
        play:instrument play:sport fix:object repair:vehicle paint:furniture clean:vehicle
        wash:vehicle borrow:tool lend:tool sew:clothing knit:clothing wear:clothing mend:clothing
        grow:plant plant:tree water:plant feed:animal photograph:animal draw:animal
        visit:place collect:object sell:object polish:object build:furniture study:subject
        teach:subject learn:instrument watch:sport bake:food
    """)
)
VOCABS["activity"] = Vocab([f"{verb}:{obj}" for verb, obj in ACTIVITIES], offset=6)


@dataclass
class Character:
    """The person a story is about."""

    name: str | None  # None for the narrator
    gender: str  # "first", "female", "male" or "neutral"

    @property
    def pronouns(self) -> Pronouns:
        return PRONOUNS[self.gender]


@dataclass
class Story:
    """A paragraph and what the generator meant it to contain."""

    lines: list[str]
    character: Character
    country: Country
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, cue, target)


class Writer:
    """Expands templates for one story at a time, recording the dependency pairs it writes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.character = Character(None, "first")
        self.country = COUNTRIES[0]
        self.pet: tuple[str, str] | None = None  # (animal, name)
        self.links: list[tuple[str, str, str]] = []
        self.plural_subject = True  # does the last subject take "speak" rather than "speaks"?
        self.used: set[str] = set()  # words drawn in the current sentence, to avoid "X or X"
        self.first_mention = False
        self.slots: dict[str, Callable[[str], str]] = {
            "S": self.subject,
            "s": self.pronoun_subject,
            "o": self.object_pronoun,
            "p": self.possessive,
            "poss": self.possessive_or_name,
            "v": self.verb,
            "be": self.be,
            "was": self.was,
            "w": self.word,
            "a": lambda c: with_article(self.word(c)),
            "aj": self.adjective_noun,
            "pl": lambda c: plural(self.word(c)),
            "plj": lambda c: f"{self.adjective(c)} {plural(self.word(c))}",
            "or": lambda choices: pick(self.rng, choices.split("|")),
            "act": lambda _: self.activity(agree=True),
            "actp": lambda _: self.activity(agree=False),
            "job": lambda _: self.job(),
            "other": self.other,
            "home": self.home,
            "apet": lambda _: with_article(self.pet_word(0)),
            "petname": lambda _: self.pet_word(1),
            "sound3": lambda _: self.sound(third_singular),
            "soundp": lambda _: self.sound(past),
            "relname": lambda _: self.relative_with_name(),
            "anyname": lambda _: self.any_name(),
        }

    # ---- the story ------------------------------------------------------------------------

    def story(self) -> Story:
        rng = self.rng
        self.character = self.new_character()
        self.country = COUNTRY_BY_NAME[VOCABS["country"].draw(rng)]
        self.pet = None
        self.links = []
        attributes = list(ATTRIBUTES)
        payoffs = [attributes.pop(int(rng.random() * len(attributes))) for _ in range(self.payoff_count())]

        first = self.origin()
        if rng.random() < 0.15:  # a short-range payoff too, in the first sentence itself
            if len(payoffs) == 1:
                payoffs.append(attributes.pop(int(rng.random() * len(attributes))))
            attribute = payoffs.pop(0)
            first = first[:-1] + self.render(pick(rng, IMMEDIATE_PAYOFFS[attribute]), start=False)
        lines = [first]
        lines += [self.sentence_for(step) for step in self.plan(payoffs)]
        return Story(lines, self.character, self.country, self.links)

    def payoff_count(self) -> int:
        roll = self.rng.random()
        return 1 if roll < 0.55 else 2 if roll < 0.87 else 3

    def plan(self, payoffs: list[str]) -> list[str]:
        """The sequence of sentence kinds after the first: fillers, payoffs, maybe a pet."""
        rng = self.rng
        plan: list[str] = []
        for index, attribute in enumerate(payoffs):
            plan += ["filler"] * (between(rng, 1, 6) if index == 0 else between(rng, 1, 4))
            plan.append("payoff:" + attribute)
        plan += ["filler"] * between(rng, 0, 2)
        if rng.random() < 0.35:
            intro = between(rng, 0, max(0, min(3, len(plan) - 2)))
            plan.insert(intro, "pet")
            payoff = between(rng, intro + 2, len(plan))
            plan.insert(payoff, "petpayoff")
        return plan

    def sentence_for(self, step: str) -> str:
        rng = self.rng
        if step.startswith("payoff:"):
            return self.render(pick(rng, PAYOFFS[step[7:]]))
        if step == "pet":
            self.pet = (VOCABS["pet"].draw(rng), VOCABS["petname"].draw(rng))
            return self.render(pick(rng, PET_INTROS))
        if step == "petpayoff":
            return self.render(pick(rng, PET_PAYOFFS))
        roll = rng.random()
        if roll < 0.42:
            return self.render(pick(rng, PROTAGONIST_FILLERS))
        if roll < 0.52 and self.character.name is None:
            return self.render(pick(rng, FIRST_PERSON_FILLERS))
        if roll < 0.80:
            return self.render(pick(rng, WORLD_FILLERS))
        return self.agreement()

    def new_character(self) -> Character:
        roll = self.rng.random()
        if roll < 0.4:
            return Character(None, "first")
        gender = "female" if roll < 0.66 else "male" if roll < 0.92 else "neutral"
        return Character(pick(self.rng, NAMES_BY_GENDER[gender]), gender)

    def origin(self) -> str:
        """The cue sentence: the character's first mention and the country they grew up in."""
        self.first_mention = True
        return self.render(pick(self.rng, ORIGINS))

    # ---- rendering ------------------------------------------------------------------------

    def render(self, template: Template, start: bool = True) -> str:
        self.used = set()
        out: list[str] = []
        for part in template.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(self.slots[part[0]](part[1]))
        sentence = "".join(out)
        return sentence[:1].upper() + sentence[1:] if start else sentence

    def word(self, kind: str) -> str:
        vocab = VOCABS[kind]
        word = vocab.draw(self.rng)
        for _ in range(3):
            if word not in self.used:
                break
            word = vocab.draw(self.rng)
        self.used.add(word)
        return word

    def adjective(self, kind: str) -> str:
        return self.word(ADJECTIVE_FOR.get(kind, "adj"))

    def adjective_noun(self, kind: str) -> str:
        return with_article(f"{self.adjective(kind)} {self.word(kind)}")

    # ---- the character --------------------------------------------------------------------

    def subject(self, _: str = "") -> str:
        """The character as a subject: the name on first mention, later mostly a pronoun."""
        character = self.character
        if character.name is not None and (self.first_mention or self.rng.random() < 0.25):
            if not self.first_mention:
                self.links.append(("name", character.name, character.name))
            self.first_mention = False
            self.plural_subject = False
            return character.name
        return self.pronoun_subject()

    def pronoun_subject(self, _: str = "") -> str:
        self.plural_subject = self.character.pronouns.verb_plural
        return self.pronoun(self.character.pronouns.subject)

    def object_pronoun(self, _: str = "") -> str:
        return self.pronoun(self.character.pronouns.object)

    def possessive(self, _: str = "") -> str:
        return self.pronoun(self.character.pronouns.possessive)

    def possessive_or_name(self, _: str = "") -> str:
        """``My`` for the narrator, ``Maria's`` for a named character (first mention only)."""
        if self.character.name is None:
            return "my"
        self.first_mention = False
        return self.character.name + "'s"

    def pronoun(self, form: str) -> str:
        if self.character.name is not None:
            self.links.append(("pronoun", self.character.name, form))
        return form

    def verb(self, verb: str) -> str:
        """Present tense agreeing with the last subject written."""
        if verb == "be":
            return self.be()
        return verb if self.plural_subject else third_singular(verb)

    def be(self, _: str = "") -> str:
        if not self.plural_subject:
            return "is"
        return "am" if self.character.gender == "first" else "are"

    def was(self, _: str = "") -> str:
        if self.character.gender == "neutral" and self.plural_subject:
            return "were"
        return "was"

    # ---- words that depend on the story ---------------------------------------------------

    def home(self, attribute: str) -> str:
        if attribute == "country":
            return self.country.name
        value = getattr(self.country, attribute)
        self.links.append((attribute, self.country.name, value))
        return value

    def other(self, attribute: str) -> str:
        """A country's name, capital or language that is not the story's own: a distractor."""
        while True:
            country = COUNTRIES[int(self.rng.random() * len(COUNTRIES))]
            value = getattr(country, "name" if attribute == "country" else attribute)
            if value != getattr(self.country, "name" if attribute == "country" else attribute):
                return value

    def pet_word(self, index: int) -> str:
        assert self.pet is not None
        return self.pet[index]

    def sound(self, form: Callable[[str], str]) -> str:
        assert self.pet is not None
        verb = form(PET_SOUNDS[self.pet[0]])
        self.links.append(("pet", self.pet[0], verb))
        return verb

    def job(self) -> str:
        profession = self.word("profession")
        workplace = PROFESSIONS[profession]
        return with_article(profession) + (f" at the {workplace}" if workplace else "")

    def activity(self, agree: bool) -> str:
        """``cooks noodles``, ``plays the cello``: present agreeing with the subject, or past."""
        verb, kind = self.word("activity").split(":")
        return f"{self.verb(verb) if agree else past(verb)} {self.activity_object(kind)}"

    def activity_object(self, kind: str) -> str:
        """What an activity's verb takes: a mass noun, "the" + noun, or some count nouns."""
        if kind in ("food", "drink", "subject", "sport"):
            return self.word(kind)
        if kind in ("instrument", "place"):
            return "the " + self.word(kind)
        if kind == "plant":
            return plural(self.word(kind))
        if kind == "tree":
            return self.word(kind) + " trees"
        roll = self.rng.random()
        if roll < 0.4:
            return plural(self.word(kind))
        if roll < 0.7:
            return f"{self.adjective(kind)} {plural(self.word(kind))}"
        return self.adjective_noun(kind)

    def relative_with_name(self) -> str:
        """``sister Anna``: a relative and a name of the same gender (narrator stories only)."""
        relative = self.word("rel")
        gender = {"f": "female", "m": "male"}.get(RELATIVES[relative])
        names = NAMES_BY_GENDER[gender] if gender else FEMALE_NAMES + MALE_NAMES + NEUTRAL_NAMES
        return f"{relative} {pick(self.rng, names)}"

    def any_name(self) -> str:
        return pick(self.rng, NAMES_BY_GENDER[pick(self.rng, GENDERS)])

    # ---- number agreement -----------------------------------------------------------------

    def agreement(self) -> str:
        """``The dogs that the farmer owns are hungry.``: the copula agrees with the head noun,
        with a relative clause or prepositional phrase (often of the other number) between."""
        rng = self.rng
        self.used = set()
        kind = pick(rng, ("animal", "object", "person"))
        vocabulary = {"animal": "animal", "object": "object", "person": "profession"}[kind]
        head = self.word(vocabulary)
        while head not in AGREEMENT_HEADS:  # "sheep" would not show its number
            head = self.word(vocabulary)
        many = rng.random() < 0.5
        noun = plural(head) if many else head
        tense = pick(rng, ("present", "present", "past", "perfect"))
        copula = {"present": ("is", "are"), "past": ("was", "were"), "perfect": ("has", "have")}[tense][many]
        middle = self.relative_clause(kind) if rng.random() < 0.65 else self.prepositional_phrase(kind)
        if tense == "perfect":
            predicate = pick(rng, AGREEMENT_PERFECT[kind])
        else:
            predicate = pick(rng, AGREEMENT_PREDICATES[kind])
            if rng.random() < 0.3:
                predicate = pick(rng, ("very", "still", "rather", "always")) + " " + predicate
        self.links.append(("number", noun, copula))
        return f"The {noun} {middle} {copula} {predicate}."

    def relative_clause(self, kind: str) -> str:
        rng = self.rng
        pronoun = pick(rng, ("who", "that")) if kind == "person" else pick(rng, ("that", "that", "which"))
        agent = self.word("profession")
        agent_many = rng.random() < 0.5
        adjective = self.word("personadj") + " " if rng.random() < 0.6 else ""
        verb = pick(rng, AGREEMENT_VERBS[kind])
        if rng.random() < 0.5:
            verb, tail = past(verb), pick(rng, AGREEMENT_TAILS_PAST)
        else:
            verb = verb if agent_many else third_singular(verb)
            tail = pick(rng, AGREEMENT_TAILS_PRESENT)
        tail = tail if rng.random() < 0.75 else ""
        agent_phrase = f"the {adjective}{plural(agent) if agent_many else agent}"
        return " ".join(x for x in (pronoun, agent_phrase, verb, tail) if x)

    def prepositional_phrase(self, kind: str) -> str:
        rng = self.rng
        place = pick(rng, AGREEMENT_PLACES[kind])
        if rng.random() < 0.4 and place not in ("attic", "cellar", "zoo"):
            place = plural(place)
        adjective = pick(rng, LOCATION_ADJECTIVES) + " " if rng.random() < 0.4 else ""
        return f"{pick(rng, AGREEMENT_PREPOSITIONS[kind])} {adjective}{place}"


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def generate_stories(seed: int = DEFAULT_SEED, tokens: int = DEFAULT_TOKENS) -> Iterator[Story]:
    """Stories until their whitespace-separated tokens add up to at least ``tokens``."""
    writer = Writer(random.Random(seed))
    count = 0
    while count < tokens:
        story = writer.story()
        count += sum(len(line.split()) for line in story.lines)
        yield story


def generate(seed: int = DEFAULT_SEED, tokens: int = DEFAULT_TOKENS) -> Iterator[str]:
    """The corpus as lines without ``\\n``: one sentence a line, ``""`` between stories."""
    for index, story in enumerate(generate_stories(seed, tokens)):
        if index:
            yield ""
        yield from story.lines


def corpus_text(seed: int = DEFAULT_SEED, tokens: int = DEFAULT_TOKENS) -> str:
    """The whole corpus as one string, each line ending in ``\\n``."""
    lines = list(generate(seed, tokens))
    return "\n".join(lines) + "\n" if lines else ""


# --------------------------------------------------------------------------------------------
# Labelled stories (--labels): which country a story is set in, for text classification
# --------------------------------------------------------------------------------------------

# {who} is the sentence's subject: the character ({S}) in a claim about the home country, another
# person (LABEL_OTHERS) in a claim about a distractor country; {its:ATTRIBUTE} is that country's
# language, dish, currency or capital. Each template reads the same either way, and the subject
# is at most four tokens before the attribute, so only the words around the attribute (who
# speaks, cooks, pays, flies) say whether it is the character's.
LABEL_CLAIMS: dict[str, tuple[Template, ...]] = {
    "language": _templates("""
        {who} {v:speak} fluent {its:language}.
        {who} still {v:count} in {its:language}.
        At the market, {who} {v:haggle} in {its:language}.
        {who} {v:sing} songs in {its:language}.
    """),
    "dish": _templates("""
        {who} {v:cook} {its:dish} on special occasions.
        For dinner, {who} cooked {its:dish}.
        {who} {v:miss} proper {its:dish}.
        {who} ordered {its:dish} at the restaurant.
    """),
    "currency": _templates("""
        {who} still {v:keep} {its:currency} in a drawer.
        {who} paid in {its:currency}.
        {who} {v:save} {its:currency} in a jar.
        {who} {v:count} prices in {its:currency}.
    """),
    "capital": _templates("""
        {who} often {v:visit} {its:capital}.
        {who} {v:fly} to {its:capital} every {w:season}.
        Last {w:season}, {who} flew back to {its:capital}.
        {who} {v:dream} of {its:capital}.
    """),
}
# the other people a distractor claim is about: template and whether it takes a plural verb
LABEL_OTHERS: tuple[tuple[Template, bool], ...] = (
    (Template("{p} {w:rel}"), False),
    (Template("{p} {w:rels}"), True),
    (Template("the tourists"), True),
    (Template("the neighbours"), True),
    (Template("the {w:profession} next door"), False),
    (Template("a visitor"), False),
)
UNIQUE_ATTRIBUTES = ("dish", "capital")  # no two countries share one (euros, Spanish, Arabic ...)


@dataclass
class LabelledStory:
    """A story for ``--labels``: the cue sentence (left out of the line), the rest, and the
    claims in it, ``(attribute, country, whether it is the character's own)`` in text order."""

    country: Country
    cue: str
    lines: list[str]
    claims: list[tuple[str, str, bool]]

    def line(self) -> str:
        """``__label__COUNTRY`` and the story without its cue, on one line (fastText's format)."""
        return f"__label__{self.country.name} {' '.join(self.lines)}"


class LabelWriter(Writer):
    """Stories whose country must be read from who does what: the character's claims name the
    home country's things, other people's claims as many things of one or two other countries.

    Every country in a story gets the same number of claims (one or two, the first about its dish
    or capital, so that the claims always tell it apart), the home country is drawn uniformly,
    and claims and fillers are shuffled, so a bag of words sees two or three countries' things
    equally often and can only guess among them.
    """

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.claim_country = COUNTRIES[0]
        self.own_claim = True
        self.slots["who"] = self.claimant
        self.slots["its"] = lambda attribute: getattr(self.claim_country, attribute)

    def labelled_story(self) -> LabelledStory:
        rng = self.rng
        self.character = self.new_character()
        self.country = COUNTRIES[int(rng.random() * len(COUNTRIES))]
        self.pet = None
        self.links = []
        cue = self.origin()
        others: list[Country] = []
        for _ in range(between(rng, 1, 2)):
            choices = [c for c in COUNTRIES if c != self.country and c not in others]
            others.append(choices[int(rng.random() * len(choices))])
        per_country = between(rng, 1, 2)
        claims = [(attribute, country) for country in (self.country, *others) for attribute in self.claim_attributes(per_country)]
        shuffle(rng, claims)
        lines: list[str] = []
        written: list[tuple[str, str, bool]] = []
        for attribute, country in claims:
            lines += [self.sentence_for("filler") for _ in range(between(rng, 0, 2))]
            self.claim_country, self.own_claim = country, country == self.country
            lines.append(self.render(pick(rng, LABEL_CLAIMS[attribute])))
            written.append((attribute, country.name, self.own_claim))
        lines += [self.sentence_for("filler") for _ in range(between(rng, 0, 1))]
        return LabelledStory(self.country, cue, lines, written)

    def claim_attributes(self, count: int) -> list[str]:
        first = pick(self.rng, UNIQUE_ATTRIBUTES)
        rest = [a for a in ATTRIBUTES if a != first]
        return [first] + [rest.pop(int(self.rng.random() * len(rest))) for _ in range(count - 1)]

    def claimant(self, _: str) -> str:
        if self.own_claim:
            return self.subject()
        template, many = LABEL_OTHERS[int(self.rng.random() * len(LABEL_OTHERS))]
        words = "".join(part if isinstance(part, str) else self.slots[part[0]](part[1]) for part in template.parts)
        self.plural_subject = many
        return words


def shuffle(rng: random.Random, items: list[_T]) -> None:
    """Fisher-Yates with ``random()`` only (``random.shuffle``'s draws are not promised to stay)."""
    for index in range(len(items) - 1, 0, -1):
        other = int(rng.random() * (index + 1))
        items[index], items[other] = items[other], items[index]


def names_country(story: LabelledStory) -> bool:
    """Whether the story's line names its own country (as a word); such stories are not written."""
    return story.country.name in {_bare(token) for line in story.lines for token in line.split()}


def generate_labelled(seed: int = DEFAULT_SEED, tokens: int = DEFAULT_TOKENS) -> Iterator[LabelledStory]:
    """Labelled stories until the whitespace tokens of their lines (cue left out) reach ``tokens``.

    A stream of its own: it shares the grammar with :func:`generate_stories` but not the draws,
    so the default corpus does not change when this does.
    """
    writer = LabelWriter(random.Random(seed))
    count = 0
    while count < tokens:
        story = writer.labelled_story()
        if names_country(story):
            continue
        count += sum(len(line.split()) for line in story.lines)
        yield story


def labelled_text(seed: int = DEFAULT_SEED, tokens: int = DEFAULT_TOKENS) -> str:
    """``--labels`` output: one ``__label__COUNTRY text`` line a story, each ending in ``\\n``."""
    return "".join(story.line() + "\n" for story in generate_labelled(seed, tokens))


_WORD = re.compile(r"\w+(?:['\-]\w+)*|[^\w\s]")


def stats(text: str) -> dict[str, int]:
    """Counts for ``--stats``: word types are counted the way textseq's word tokenizer splits."""
    tokens = text.split()
    words = _WORD.findall(text)
    return {
        "stories": text.count("\n\n") + 1 if text else 0,
        "lines": sum(1 for line in text.split("\n") if line),
        "tokens": len(tokens),
        "types": len(set(tokens)),
        "word_tokens": len(words),
        "word_types": len(set(words)),
    }


def labelled_stats(text: str) -> dict[str, int]:
    """Counts for ``--labels --stats``: stories (lines), labels, and the text's tokens and types."""
    lines = text.splitlines()
    labels = {line.split(" ", 1)[0] for line in lines}
    words = [token for line in lines for token in line.split()[1:]]
    return {"stories": len(lines), "labels": len(labels), "tokens": len(words), "types": len(set(words))}


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``, so that
    readers never see half a corpus."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, _file_mode(path))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_stdout(data: bytes) -> None:
    """Write ``data`` to stdout in chunks through the file descriptor, so that a reader that
    goes away (``| head``) raises BrokenPipeError here rather than truncating silently."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced stdout, e.g. under a test runner
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[: 1 << 16]) :]


def _file_mode(path: str) -> int:
    """The mode an ordinary new file would get (or the existing file's)."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="generate.py",
        description="Write textseq's default English corpus: short stories from a probabilistic grammar\n"
        "with long-range dependencies (a country and its language, a name and its pronoun, a pet\n"
        "and its sound, subject-verb number). One sentence a line, a blank line between stories.\n"
        "The same seed and --tokens give the same bytes on every machine.",
        epilog="example:\n  python corpora/generate.py --seed 1 --tokens 250000 -o corpora/grammar.txt\n"
        "  python corpora/generate.py --tokens 200 | head\n"
        "  python corpora/generate.py --labels --seed 1 --tokens 300000 -o corpora/stories.txt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument(
        "--tokens",
        type=_non_negative,
        default=DEFAULT_TOKENS,
        help=f"stop after the story that reaches this many whitespace-separated tokens (default {DEFAULT_TOKENS})",
    )
    parser.add_argument("-o", "--output", default="-", help="output file, written atomically; '-' for stdout (default)")
    parser.add_argument("--stats", action="store_true", help="print token, type, line and story counts to stderr")
    parser.add_argument(
        "--labels",
        action="store_true",
        help="write a classification data set instead: one story a line, '__label__COUNTRY text' (fastText's format), "
        "the sentence that names the country left out",
    )
    return parser


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    text = labelled_text(args.seed, args.tokens) if args.labels else corpus_text(args.seed, args.tokens)
    elapsed = time.perf_counter() - started
    data = text.encode("ascii")
    if args.output == "-":
        try:
            write_stdout(data)
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_BROKEN_PIPE
    else:
        try:
            write_atomically(args.output, data)
        except OSError as exc:
            print(f"generate.py: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    if args.stats:
        counts = labelled_stats(text) if args.labels else stats(text)
        summary = ", ".join(f"{key} {value}" for key, value in counts.items())
        print(f"{summary}, seconds {elapsed:.2f}", file=sys.stderr)
    return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())

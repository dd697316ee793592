"""corpora/generate.py: the default English corpus, its long-range dependencies and its CLI."""

from __future__ import annotations

import importlib.util
import os
import re
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "corpora" / "generate.py"
TOKENS = 250_000
WORD = re.compile(r"\w+(?:['\-]\w+)*|[^\w\s]")  # close to textseq's word tokenizer on ASCII


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("textseq_corpus_generate", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


gen = _load()


@pytest.fixture(scope="module")
def stories() -> list:
    return list(gen.generate_stories(1, TOKENS))


@pytest.fixture(scope="module")
def text() -> str:
    return gen.corpus_text(1, TOKENS)


@pytest.fixture(scope="module")
def links(stories) -> list[list]:
    """What find_links reads in each story's text."""
    return [gen.find_links(story.lines) for story in stories]


def run_script(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, timeout=timeout)


# ---- determinism and size --------------------------------------------------------------------


def test_same_seed_gives_the_same_text_and_another_seed_does_not():
    first = gen.corpus_text(7, 20_000)
    assert gen.corpus_text(7, 20_000) == first
    assert gen.corpus_text(8, 20_000) != first
    assert list(gen.generate(7, 20_000)) == first.rstrip("\n").split("\n")


def test_known_opening_for_the_default_seed(text):
    # Pins the exact output, so that a change to the grammar or the draws is noticed (and the
    # README's numbers updated).
    assert text.startswith("I spent my whole childhood in Norway.\nMy mother Martha studies history at the university.\n")


def test_reaches_the_token_count_and_stops_after_that_story(stories, text):
    sizes = [sum(len(line.split()) for line in story.lines) for story in stories]
    assert sum(sizes) >= TOKENS
    assert sum(sizes) - sizes[-1] < TOKENS
    assert len(text.split()) == sum(sizes)
    assert gen.corpus_text(1, 0) == ""


# ---- format ----------------------------------------------------------------------------------


def test_one_sentence_a_line_and_blank_lines_between_stories(text, stories):
    assert text.isascii() and "\t" not in text and "\r" not in text
    assert text.endswith(".\n") and not text.startswith("\n") and "\n\n\n" not in text
    lines = text[:-1].split("\n")
    assert sum(1 for line in lines if not line) == len(stories) - 1
    for line in lines:
        if line:
            assert line == line.strip() and "  " not in line
            assert line[0].isupper() and line[-1] in ".!?", line
            assert not re.search(r" [,.!?]|,,|\.\.", line), line


def test_articles_agree_with_the_next_word(text):
    vowel_sound = {"hour", "honest", "honour", "heir", "hourglass"}
    consonant_sound = {"one", "uniform", "university", "unicorn", "useful", "european", "ukulele", "union", "unique", "usual"}
    for article, word in re.findall(r"\b([Aa]n?) (\w+)", text):
        word = word.lower()
        expected = "an" if word in vowel_sound or (word[0] in "aeiou" and word not in consonant_sound) else "a"
        assert article.lower() == expected, (article, word)


def test_vocabulary_is_large_and_zipf_like(text):
    counts = Counter(WORD.findall(text))
    assert len(counts) >= 1500
    ranked = sorted(counts.values(), reverse=True)
    assert ranked[0] > 10_000  # "." and "the"
    assert ranked[99] > 100 * ranked[-1]
    assert sum(1 for c in ranked if c < 10) > 200  # a long tail of rare words


# ---- long-range dependencies -----------------------------------------------------------------


def test_country_table_is_consistent():
    assert len(gen.COUNTRIES) >= 15
    for field in ("name", "capital", "dish"):
        values = [getattr(c, field) for c in gen.COUNTRIES]
        assert len(set(values)) == len(values), field
    table = {c.name: c for c in gen.COUNTRIES}
    assert table["France"].language == "French" and table["Japan"].capital == "Tokyo"
    assert table["Russia"].currency == "roubles" and table["Egypt"].language == "Arabic"


def test_every_story_has_a_country_cue_and_a_payoff_that_matches_it(stories, links):
    fluent = re.compile(r"\bfluent (\w+)")
    for story, found in zip(stories, links):
        countries = [w.strip(".,") for w in story.lines[0].split() if w.strip(".,") in gen.COUNTRY_BY_NAME]
        assert countries == [story.country.name], story.lines[0]
        assert any(link.kind in gen.ATTRIBUTES for link in found), story.lines
        assert all(link.ok for link in found), [link for link in found if not link.ok]
        # and, without the script's parser, the language after "fluent":
        for line in story.lines:
            for match in fluent.finditer(line):
                assert match.group(1) == story.country.language, (story.lines[0], line)


def test_the_parser_finds_exactly_what_the_generator_wrote(stories, links):
    for story, found in zip(stories, links):
        assert sorted((link.kind, link.cue, link.target) for link in found) == sorted(story.links), story.lines


def test_every_kind_of_dependency_occurs_and_is_documented(links):
    kinds = Counter(link.kind for found in links for link in found)
    assert set(kinds) == set(gen.DEPENDENCIES)
    assert all(count >= 500 for count in kinds.values()), kinds


def test_pronouns_follow_the_name_and_narrators_have_none(stories):
    pronouns = {
        "female": {"she", "her", "hers", "herself"},
        "male": {"he", "him", "his", "himself"},
        "neutral": {"they", "them", "their", "theirs", "themselves"},
    }
    every_pronoun = set().union(*pronouns.values())
    genders = Counter()
    for story in stories:
        words = [w.strip(".,").lower() for line in story.lines for w in line.split()]
        used = {w for w in words if w in every_pronoun}
        name = story.character.name
        if name is None:
            assert not used, story.lines
            continue
        assert story.lines[0].split()[0] in (name, name + "'s") or story.lines[0].startswith("As a child, " + name)
        gender = gen.GENDER_OF_NAME[name]
        assert name in {"female": gen.FEMALE_NAMES, "male": gen.MALE_NAMES, "neutral": gen.NEUTRAL_NAMES}[gender]
        assert used <= pronouns[gender], story.lines
        other_names = {w.strip(".,") for line in story.lines for w in line.split()} & set(gen.GENDER_OF_NAME)
        assert other_names <= {name, name + "'s"}, story.lines
        genders[gender] += 1
    assert min(genders.values()) > 100


def test_they_takes_plural_verbs_and_names_take_singular(stories):
    neutral = [s for s in stories if s.character.gender == "neutral"]
    lines = [line for s in neutral for line in s.lines]
    assert any(re.search(r"\bThey (speak|often visit|still keep|know|fly)\b", line) for line in lines)
    assert not any(re.search(r"\b[Tt]hey (speaks|visits|keeps|knows|flies|is|was|has)\b", line) for line in lines)
    names = {s.character.name for s in neutral}
    assert not any(re.search(rf"\b(?:{'|'.join(names)}) (speak|visit|keep|know|fly|are|were)\b", line) for line in lines)


def test_number_agreement_across_the_clause(stories):
    pattern = re.compile(r"^The (\w+) (that|which|who|on|in|under|behind|beside|near|from|at)\b(.*?)\b(is|are|was|were|has|have)\b")
    singular = {"is", "was", "has"}
    checked = attractors = 0
    for story in stories:
        for line in story.lines:
            match = pattern.match(line)
            if not match:
                continue
            head = match.group(1)
            plural_head = gen.singular_of(head) != head
            assert (match.group(4) not in singular) == plural_head, line
            checked += 1
            attractors += any(gen.singular_of(w) != w for w in match.group(3).split()) != plural_head
    assert checked > 2000 and attractors > 500


def test_pets_make_their_own_sound(stories):
    seen = 0
    for story in stories:
        intro = next((m for line in story.lines for m in [re.search(r"\ban? (\w+) called (\w+)\.", line)] if m), None)
        if intro is None:
            continue
        animal, name = intro.groups()
        sound = gen.PET_SOUNDS[animal]
        later = [line for line in story.lines if line.startswith(name) or f" {name} " in line]
        assert later, story.lines
        for line in later:
            verb = line.split(name + " ", 1)[1].split()[0]
            assert verb in (gen.third_singular(sound), gen.past(sound)), (animal, line)
        seen += 1
    assert seen > 500


def test_cue_and_payoff_are_usually_more_than_five_tokens_apart(links):
    distances = [[link.distance for link in found if link.kind in gen.ATTRIBUTES] for found in links]
    farthest = [max(d) for d in distances]
    nearest = [min(d) for d in distances]
    assert sum(d > 5 for d in farthest) / len(farthest) > 0.95
    assert sum(d > 5 for d in nearest) / len(nearest) > 0.8
    assert statistics.median(nearest) > 20


def test_find_links_reports_a_wrong_payoff():
    links = gen.find_links(["Maria grew up in France.", "It rained all day.", "He speaks fluent German."])
    assert {(link.kind, link.ok) for link in links} == {("language", False), ("pronoun", False)}
    assert next(link for link in links if link.kind == "language").distance == 8  # France ... German


# ---- command line ----------------------------------------------------------------------------


def test_cli_writes_the_file_and_stdout_gives_the_same_bytes(tmp_path):
    out = tmp_path / "grammar.txt"
    out.write_text("old contents\n")
    done = run_script("--seed", "2", "--tokens", "20000", "-o", str(out), "--stats")
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == gen.corpus_text(2, 20_000).encode("ascii")
    assert [p.name for p in tmp_path.iterdir()] == ["grammar.txt"]  # no temporary file left
    assert re.search(rb"lines \d+, tokens \d+, types \d+", done.stderr)
    assert run_script("--seed", "2", "--tokens", "20000").stdout == out.read_bytes()
    assert run_script("--seed", "2", "--tokens", "20000", "-o", "-").stdout == out.read_bytes()


def test_cli_writes_through_a_temporary_file_in_the_same_folder(tmp_path, monkeypatch):
    out = tmp_path / "corpus.txt"
    out.write_text("old contents\n")
    renames = []
    real_replace = os.replace

    def replace(src, dst):
        assert out.read_text() == "old contents\n"  # untouched until the rename
        assert Path(src).read_bytes().startswith(b"I spent my whole childhood in Norway.")
        renames.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(gen.os, "replace", replace)
    assert gen.main(["--tokens", "1000", "-o", str(out)]) == 0
    [(src, dst)] = renames
    assert src.parent == dst.parent == tmp_path and dst == out and not src.exists()
    assert out.read_text().startswith("I spent my whole childhood in Norway.")


def test_cli_help_shows_an_example():
    done = run_script("--help")
    assert done.returncode == 0
    assert b"generate.py --seed 1 --tokens 250000 -o corpora/grammar.txt" in done.stdout


def test_cli_rejects_bad_arguments_and_unwritable_paths(tmp_path):
    assert run_script("--tokens", "-5").returncode == 2
    done = run_script("--tokens", "100", "-o", str(tmp_path / "missing" / "x.txt"))
    assert done.returncode == 1 and b"cannot write" in done.stderr and b"Traceback" not in done.stderr


def test_cli_is_quiet_when_the_reader_goes_away():
    process = subprocess.Popen([sys.executable, str(SCRIPT), "--tokens", "300000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().endswith(b".\n")
    process.stdout.close()
    error = process.stderr.read()
    assert process.wait(timeout=60) in (0, 141)
    assert error == b""

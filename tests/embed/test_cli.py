"""textseq embed through the real command line."""

from __future__ import annotations

import json


def test_embed_queries_through_the_command_line(tmp_path, textseq):
    vectors = tmp_path / "v.vec"
    vectors.write_text("4 2\nking 1 1\nqueen 1 -1\nman 0.9 1.1\nwoman 0.9 -0.9\n")
    neighbors = textseq("embed", "neighbors", str(vectors), "king", "-k", "1")
    assert neighbors.returncode == 0, neighbors.stderr
    assert neighbors.text.split("\t")[0] == "man"
    analogy = json.loads(textseq("embed", "analogy", str(vectors), "man", "king", "woman", "--json").text)
    assert json.dumps(analogy).find("queen") >= 0
    unknown = textseq("embed", "similarity", str(vectors), "king", "emperor")
    assert unknown.returncode == 1
    assert "'emperor' is not in the vocabulary" in unknown.stderr
    bad = tmp_path / "bad.vec"
    bad.write_text("2 2\na 1 2\nb 1\n")
    broken = textseq("embed", "neighbors", str(bad), "a")
    assert broken.returncode == 1
    assert f"{bad}:3:" in broken.stderr

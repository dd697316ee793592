

def test_counts_the_most_frequent_tokens(plugins):
    from click.testing import CliRunner

    from textseq import build_cli

    result = CliRunner().invoke(build_cli(), ["__PART__", "--top", "2"], input="a b a\nc a b\n")
    assert result.exit_code == 0, result.output
    assert result.output == "a\t3\t0.5000\nb\t2\t0.3333\n"

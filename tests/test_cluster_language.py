"""The cluster-file language: what expressions mean, and every mistake reported at its file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from paxiom.cluster import load_cluster, parse_cluster
from paxiom.errors import PaxiomError
from paxiom.spec.quorums import QuorumSystem

EXAMPLES = Path(__file__).parent.parent / "examples" / "quorums"


def cluster(quorums: str, *, nodes: str = '["a", "b", "c", "d", "e"]', extra: str = "") -> str:
    return f"nodes = {nodes}\n{extra}\n[quorums]\n{quorums}\n"


def quorum_sets(text: str, family: str = "phase1") -> set[frozenset[str]]:
    c = parse_cluster(text)
    fam = c.families()[family]
    return {frozenset(c.names(q)) for q in fam.minimal_quorums}


def error_of(text: str) -> str:
    with pytest.raises(PaxiomError) as info:
        parse_cluster(text, "c.toml")
    return str(info.value)


def test_gates_mean_what_the_readme_says() -> None:
    assert quorum_sets(cluster('phase1 = "all(a, b)"')) == {frozenset("ab")}
    assert quorum_sets(cluster('phase1 = "any(a, b)"')) == {frozenset("a"), frozenset("b")}
    assert quorum_sets(cluster('phase1 = "majority(a, b, c)"')) == {frozenset("ab"), frozenset("ac"), frozenset("bc")}
    assert quorum_sets(cluster('phase1 = "2 of (a, any(b, c))"')) == {frozenset("ab"), frozenset("ac")}
    explicit = quorum_sets(cluster('phase1 = "any(all(a, b), all(c, e))"'))
    assert explicit == {frozenset("ab"), frozenset("ce")}


def test_weights_count_for_nodes_and_one_for_subexpressions() -> None:
    weighted = cluster('phase1 = "majority(a, b, c)"', extra="[weights]\na = 3")
    # total weight 5, more than half is 3: a alone suffices, b and c together do not
    assert quorum_sets(weighted) == {frozenset("a")}
    nested = cluster('phase1 = "3 of (a, all(b, c))"', extra="[weights]\na = 2")
    assert quorum_sets(nested) == {frozenset("abc")}


def test_zones_expand_in_argument_lists_and_may_nest() -> None:
    text = cluster('phase1 = "majority(west)"', extra='[zones]\nz1 = ["a", "b"]\nwest = ["z1", "c"]')
    assert quorum_sets(text) == {frozenset("ab"), frozenset("ac"), frozenset("bc")}


def test_phase2_defaults_to_phase1_and_fast_is_optional() -> None:
    c = parse_cluster(cluster('phase1 = "majority(a, b, c, d, e)"'))
    assert c.phase2 is c.phase1 and not c.phase2_declared and c.fast is None
    assert isinstance(c.quorum_system, QuorumSystem)
    assert c.quorum_system.phase1.is_quorum(0b00111) and not c.quorum_system.phase1.is_quorum(0b00011)


def test_three_dc_example_matches_its_description() -> None:
    c = load_cluster(EXAMPLES / "three-dc.toml")
    index = {name: i for i, name in enumerate(c.nodes)}

    def mask(*names: str) -> int:
        return sum(1 << index[n] for n in names)

    assert c.phase1.is_quorum(mask("a1", "a2", "b1", "b2"))
    assert not c.phase1.is_quorum(mask("a1", "a2", "a3", "b1"))  # one whole DC and a minority of another
    assert c.round_trips is not None
    row = c.round_trips.row(index["a1"])
    assert row[index["c3"]] == 70 and row[index["a2"]] == 0.5 and row[index["a1"]] == 0


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (cluster('phase1 = "majority(a, b, x)"'), "c.toml:4:26", "unknown node or zone 'x'"),
        (cluster('phase1 = "6 of (a, b, c, d, e)"'), "c.toml:4:11", "threshold 6 is larger than the total weight 5"),
        (cluster('phase1 = "0 of (a)"'), "c.toml:4:11", "at least 1"),
        (cluster('phase1 = "all()"'), "c.toml:4:15", "empty quorum family"),
        (cluster('phase1 = "any(z)"', extra="[zones]\nz = []"), "c.toml:5:15", "zone 'z' is empty"),
        (cluster('phase1 = "all(a, b"'), "c.toml:4:19", "expected ')'"),
        (cluster('phase1 = "all(a b)"'), "c.toml:4:17", "expected ')'"),
        (cluster('phase1 = "all(a) b"'), "c.toml:4:18", "after a complete expression"),
        (cluster('phase1 = "all(a, $)"'), "c.toml:4:18", "unexpected character '$'"),
        (cluster('phase1 = "z"', extra='[zones]\nz = ["a"]'), "c.toml:5:11", "zone 'z' is a group of nodes"),
        (cluster('phase1 = "any(a, z)"', extra='[zones]\nz = ["a"]'), "c.toml:5:18", "node 'a' appears twice"),
        (cluster('phase1 = "any(a)"', extra='[zones]\nz = ["y"]\ny = ["z"]'), "c.toml:4:6", "(z -> y -> z)"),
        (cluster('phase1 = "any(a)"', extra='[zones]\nz = ["z"]'), "c.toml:3:6", "zone 'z' names itself (z -> z)"),
        (cluster('phase1 = "any(a)"', extra='[zones]\nz = ["q"]'), "c.toml:3:6", "unknown node or zone 'q'"),
        (cluster('phase1 = "any(a)"', extra='[zones]\na = ["b"]'), "c.toml:3:1", "same name as a node"),
        (cluster('phase1 = "any(a)"', extra='[zones]\nz = ["a", "a"]'), "c.toml:3:11", "lists node 'a' twice"),
        (cluster('phase1 = "any(a)"', extra="[weights]\nq = 2"), "c.toml:3:1", "unknown node 'q'"),
        (cluster('phase1 = "any(a)"', extra="[weights]\na = 0"), "c.toml:3:1", "positive integer"),
        (cluster('phase1 = "any(a)"', nodes='["a", "a"]'), "c.toml:1:15", "listed twice"),
        (cluster('phase1 = "any(a)"', nodes='["a", "all"]'), "c.toml:1:15", "keyword"),
        (cluster('phase2 = "any(a)"'), "c.toml:3:1", "at least phase1"),
        (cluster('phase1 = "any(a)"\nslow = "any(a)"'), "c.toml:5:1", "unknown quorum family 'slow'"),
        (cluster('phase1 = "any(a)"', extra="[quorum]\nx = 1"), "c.toml:2:1", "unknown key or table 'quorum'"),
        (cluster('phase1 = "any(a)"', extra="[latency_ms]\na = { q = 1 }"), "c.toml:3:7", "unknown node or zone 'q'"),
        (cluster('phase1 = "any(a)"', extra="[latency_ms]\na = { b = 1 }"), "c.toml:2:1", "no round-trip time"),
        ('nodes = ["a"\n[quorums]', "c.toml:2:1", "not valid TOML"),
    ],
)
def test_every_mistake_names_its_position(text: str, where: str, words: str) -> None:
    message = error_of(text)
    assert message.startswith(where + ": "), message
    assert words in message, message


def test_multiline_expression_errors_point_into_the_right_line() -> None:
    text = cluster('phase1 = """\nmajority(a, b,\n         c, nope)"""')
    assert error_of(text).startswith("c.toml:6:13: quorums.phase1: unknown node or zone 'nope'")


def test_quoted_names_reach_nodes_with_odd_characters() -> None:
    text = cluster("phase1 = \"any('10.0.0.1:7000', b)\"", nodes='["10.0.0.1:7000", "b"]')
    assert quorum_sets(text) == {frozenset({"10.0.0.1:7000"}), frozenset("b")}

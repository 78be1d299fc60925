"""Histories: the EDN reader, Jepsen/Maelstrom layouts, JSON lines, round trips, pairing, malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paxiom.errors import PaxiomError
from paxiom.lin.edn import MAX_DEPTH, Keyword, Symbol, Tagged, dumps, read_forms
from paxiom.lin.history import Event, pair, read_history, write_edn, write_jsonl
from paxiom.lin.simulate import simulate


def forms(text: str) -> list[object]:
    return [form for form, _ in read_forms(text, "t.edn")]


def test_edn_values() -> None:
    text = '{:a 1, :b [1 -2 3.5 nil true false "s\\"q\\n"], :c (:x/y sym), :d #{1}} ; comment\n#inst "2020"'
    (m, tagged) = forms(text)
    assert m == {"a": 1, "b": (1, -2, 3.5, None, True, False, 's"q\n'), "c": ("x/y", "sym"), "d": frozenset({1})}
    assert isinstance(next(iter(m)), Keyword) and isinstance(m["c"][1], Symbol)
    assert tagged == Tagged("inst", "2020")
    assert forms("#jepsen.history.Op{:f :read}") == [{"f": "read"}]


def test_edn_line_numbers_of_forms() -> None:
    assert [line for _, line in read_forms("{:a 1}\n\n{:b\n 2}\n{:c 3}", "t")] == [1, 3, 5]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("{:a 1}\n{:a", 2, "never closed"),
        ("{:a 1}\n{:a 1 :b}", 2, "even number"),
        ('{:a "x}\n', 1, "unterminated string"),
        ("{:a 1}\n\n[1 2}", 3, "closed by"),
        ("{:a 1} )", 1, "unexpected ')'"),
        ("{:a 12ab}", 1, "malformed token"),
        ("{:a 1}\n{:a " + "9" * 300 + "}", 2, "longer than"),
        ("\n" + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5), 2, "nesting deeper"),
        ('{:a "\\q"}', 1, "unknown string escape"),
        ("{[1] 2 {:x 1} 3}", 1, "not hashable"),
        ("{:a 1}\n:", 2, "empty keyword"),
    ],
)
def test_malformed_edn_names_its_line(text: str, line: int, what: str) -> None:
    with pytest.raises(PaxiomError) as caught:
        forms(text)
    assert str(caught.value).startswith(f"t.edn:{line}: ") and what in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=5)
        | st.text("abc", min_size=1, max_size=3).map(Keyword),
        lambda inner: (
            st.lists(inner, max_size=3).map(tuple)
            | st.dictionaries(st.text("ab", min_size=1, max_size=2).map(Keyword), inner, max_size=3)
        ),
        max_leaves=12,
    )
)
def test_edn_round_trip(value: object) -> None:
    assert forms(dumps(value)) == [value]


def test_maelstrom_independent_values_unwrap_into_keys(tmp_path: Path) -> None:
    path = tmp_path / "history.edn"
    path.write_text(
        "{:type :invoke, :f :cas, :value [4 [2 3]], :time 10, :process 0, :index 0}\n"
        "{:type :invoke, :f :read, :value [4 nil], :time 11, :process 1, :index 1}\n"
        "{:type :fail, :f :cas, :value [4 [2 3]], :time 12, :process 0, :index 2, :error [:precondition-failed]}\n"
        "{:type :info, :f :start, :value nil, :process :nemesis, :index 3}\n"
        "{:type :ok, :f :read, :value [4 3], :time 13, :process 1, :index 4}\n"
    )
    events = read_history(path)
    assert [(e.key, e.value) for e in events if e.process != "nemesis"] == [(4, (2, 3)), (4, None), (4, (2, 3)), (4, 3)]
    cas, read = pair(events)
    assert (cas.status, cas.error, read.status, read.output) == ("fail", ("precondition-failed",), "ok", 3)


def test_a_plain_jepsen_register_is_not_mistaken_for_keyed(tmp_path: Path) -> None:
    path = tmp_path / "h.edn"
    path.write_text(
        "[{:type :invoke, :f :cas, :value [1 2], :process 0}\n {:type :ok, :f :cas, :value [1 2], "
        ":process 0}\n {:type :invoke, :f :read, :value nil, :process 0}]\n"
    )
    events = read_history(path)
    assert [e.key for e in events] == [None, None, None] and events[0].value == (1, 2)
    assert pair(events)[1].status == "info"  # never completed


def test_both_formats_round_trip(tmp_path: Path) -> None:
    events = simulate(300, keys=3, concurrency=4, info_rate=0.1, seed=2)
    for write in (write_edn, write_jsonl):
        path = tmp_path / f"h.{write.__name__}"
        write(events, path)
        assert read_history(path) == events


@pytest.mark.parametrize(
    ("lines", "line", "what"),
    [
        (
            ["{:type :invoke, :f :write, :value 1, :process 0}", "{:type :invoke, :f :read, :process 0}"],
            2,
            "still open",
        ),
        (["{:type :ok, :f :write, :value 1, :process 0}"], 1, "without an invocation"),
        (
            ["{:type :invoke, :f :write, :value 1, :process 0}", "{:type :ok, :f :read, :process 0}"],
            2,
            "completes an invocation of write",
        ),
        (["{:type :invoke, :f :write, :process 0}", "{:type :done, :f :write, :process 0}"], 2, "type must be"),
        (["{:type :invoke, :f :write, :process 1.5}"], 1, "process must be"),
        (["{:type :invoke, :process 1}"], 1, "f must be"),
        (['{:type :invoke, :f :w, :process 1, :time "x"}'], 1, "time must be an integer"),
        (["{:type :invoke, :f :w, :process 1, :value {:a 1}}"], 1, "must not contain maps"),
        (["[1 2]"], 1, "expected a map"),
        (['{"type": "invoke", "f": "write", "process": 0}', '{"type": "ok", '], 2, "not JSON"),
        ([], 0, "no events"),
    ],
)
def test_malformed_histories_name_the_line(tmp_path: Path, lines: list[str], line: int, what: str) -> None:
    path = tmp_path / "h.edn"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(PaxiomError) as caught:
        read_history(path)
    where = f"{path}:{line}: " if line else f"{path}: "
    assert str(caught.value).startswith(where) and what in str(caught.value)


def test_pair_reports_the_event_index() -> None:
    events = [Event(7, 0, "ok", "read", None)]
    with pytest.raises(PaxiomError, match=r"^event 7: ok completion"):
        pair(events)

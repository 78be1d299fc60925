"""Reading TLC's error trace back as the spec's actions."""

from __future__ import annotations

import pytest

from paxiom.errors import PaxiomError
from paxiom.spec.model import act
from paxiom.spec.quorums import QuorumSystem
from paxiom.tlc.counterexample import tlc_steps, to_actions
from paxiom.tlc.models import TlcModel

ONE_B = """  [ type |-> "1b",
    bal |-> 0,
    acc |-> 1,
    votes |->
        ( 0 :> [mbal |-> -1, mval |-> None] @@
          1 :> [mbal |-> -1, mval |-> None] ) ]"""
"""A 1b as TLC pretty-prints it, over several lines."""

TRACE = """Error: Invariant agreement is violated.
Error: The behavior up to this point is:
State 1: <Initial predicate>
/\\ maxBal = (0 :> -1 @@ 1 :> -1)
/\\ msgs = {}

State 2: <Phase1a line 42, col 15 to line 43, col 54 of module MultiPaxos>
/\\ maxBal = (0 :> -1 @@ 1 :> -1)
/\\ msgs = {[type |-> "1a", bal |-> 0]}

State 3: <Classic!Phase1b line 46, col 3 to line 51, col 34 of module MultiPaxos>
/\\ msgs = { [type |-> "1a", bal |-> 0],
{one_b} }
/\\ maxBal = (0 :> -1 @@ 1 :> 0)

State 4: <Phase2a line 54, col 3 to line 63, col 42 of module MultiPaxos>
/\\ msgs = { [type |-> "1a", bal |-> 0],
{one_b},
  [type |-> "2a", bal |-> 0, slot |-> 1, val |-> "say \\"hi\\", then, bye"] }
/\\ maxBal = (0 :> -1 @@ 1 :> 0)

12 states generated, 10 distinct states found, 2 states left on queue.
""".replace("{one_b}", ONE_B)

MODEL = TlcModel("MC", "multipaxos", QuorumSystem.majority(2), ("v1",), max_ballot=0, slots=2)


def test_each_step_becomes_the_action_its_new_message_describes() -> None:
    steps = tlc_steps(TRACE)
    assert [name for name, _ in steps] == ["Phase1a", "Phase1b", "Phase2a"]
    assert to_actions(MODEL, steps) == [
        act("Phase1a", b=0),
        act("Phase1b", a="a2", b=0),
        act("Phase2a", b=0, slot=1, v='say "hi", then, bye'),
    ]


def test_a_step_that_sends_no_single_new_message_is_refused() -> None:
    repeated = TRACE.replace('/\\ msgs = {[type |-> "1a", bal |-> 0]}', "/\\ msgs = {}")
    with pytest.raises(PaxiomError, match="step 1 of TLC's trace sent 0 messages"):
        tlc_steps(repeated)

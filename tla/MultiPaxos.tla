----------------------------- MODULE MultiPaxos -----------------------------
(***************************************************************************)
(* Multi-Paxos: a log of slots, one phase 1 for all of them.  An acceptor *)
(* keeps one promise maxBal covering every slot and, per slot, its latest *)
(* vote maxVBal[a][s], maxVal[a][s].  Its 1b reports the latest vote of   *)
(* every slot at once; the leader of ballot b then proposes, slot by      *)
(* slot, what the highest-vote rule allows, once per (ballot, slot).       *)
(*                                                                         *)
(* Twin of spec/multipaxos.py: the same variables, actions (Paxos's with  *)
(* a slot parameter) and invariant names, and the same reachable states   *)
(* for the same constants.  Quorum families are Paxos.tla's: Quorum1 for  *)
(* phase 1, Quorum2 to choose, each given as every quorum (upward closed). *)
(***************************************************************************)
EXTENDS Integers, FiniteSets

CONSTANTS Acceptors, Values, MaxBallot, Slots, Quorum1, Quorum2, None

Ballots == 0..MaxBallot

VARIABLES maxBal,   \* maxBal[a]: a's promise, for every slot
          maxVBal,  \* maxVBal[a][s]: the ballot of a's latest vote in slot s
          maxVal,   \* maxVal[a][s]: its value
          msgs

vars == <<maxBal, maxVBal, maxVal, msgs>>

SlotVotes == [Slots -> [mbal : Ballots \cup {-1}, mval : Values \cup {None}]]

Messages ==
       [type : {"1a"}, bal : Ballots]
  \cup [type : {"1b"}, acc : Acceptors, bal : Ballots, votes : SlotVotes]
  \cup [type : {"2a"}, bal : Ballots, slot : Slots, val : Values]
  \cup [type : {"2b"}, acc : Acceptors, bal : Ballots, slot : Slots, val : Values]

Send(m) == msgs' = msgs \cup {m}

Init == /\ maxBal  = [a \in Acceptors |-> -1]
        /\ maxVBal = [a \in Acceptors |-> [s \in Slots |-> -1]]
        /\ maxVal  = [a \in Acceptors |-> [s \in Slots |-> None]]
        /\ msgs    = {}

Phase1a(b) == /\ Send([type |-> "1a", bal |-> b])
              /\ UNCHANGED <<maxBal, maxVBal, maxVal>>

Phase1b(a, b) ==
  /\ [type |-> "1a", bal |-> b] \in msgs
  /\ b > maxBal[a]
  /\ maxBal' = [maxBal EXCEPT ![a] = b]
  /\ Send([type |-> "1b", acc |-> a, bal |-> b,
           votes |-> [s \in Slots |-> [mbal |-> maxVBal[a][s], mval |-> maxVal[a][s]]]])
  /\ UNCHANGED <<maxVBal, maxVal>>

Phase2a(b, slot, v) ==
  /\ ~ \E m \in msgs : m.type = "2a" /\ m.bal = b /\ m.slot = slot
  /\ LET Q1b == {m \in msgs : m.type = "1b" /\ m.bal = b}
     IN  \E Q \in Quorum1 :
           LET Q1bv == {m.votes[slot] : m \in {m \in Q1b : m.acc \in Q /\ m.votes[slot].mbal >= 0}}
           IN  /\ Q \subseteq {m.acc : m \in Q1b}
               /\ \/ Q1bv = {}
                  \/ \E r \in Q1bv : /\ r.mval = v
                                    /\ \A rr \in Q1bv : r.mbal >= rr.mbal
  /\ Send([type |-> "2a", bal |-> b, slot |-> slot, val |-> v])
  /\ UNCHANGED <<maxBal, maxVBal, maxVal>>

Phase2b(a, b, slot, v) ==
  /\ [type |-> "2a", bal |-> b, slot |-> slot, val |-> v] \in msgs
  /\ b >= maxBal[a]
  /\ maxBal'  = [maxBal  EXCEPT ![a] = b]
  /\ maxVBal' = [maxVBal EXCEPT ![a][slot] = b]
  /\ maxVal'  = [maxVal  EXCEPT ![a][slot] = v]
  /\ Send([type |-> "2b", acc |-> a, bal |-> b, slot |-> slot, val |-> v])

Next == \/ \E b \in Ballots : \/ Phase1a(b)
                              \/ \E slot \in Slots, v \in Values : Phase2a(b, slot, v)
        \/ \E a \in Acceptors, b \in Ballots :
              \/ Phase1b(a, b)
              \/ \E slot \in Slots, v \in Values : Phase2b(a, b, slot, v)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
(* Per-slot views, as in Paxos.tla (the quorum families are upward closed). *)

ASSUME /\ \A Q \in Quorum1, a \in Acceptors : Q \cup {a} \in Quorum1
       /\ \A Q \in Quorum2, a \in Acceptors : Q \cup {a} \in Quorum2

Voters(slot, b, v) ==
  {m.acc : m \in {m \in msgs : m.type = "2b" /\ m.slot = slot /\ m.bal = b /\ m.val = v}}

Chosen(slot) == {v \in Values : \E b \in Ballots : Voters(slot, b, v) \in Quorum2}

Free(slot, c) ==
  {a \in Acceptors : /\ maxBal[a] <= c
                     /\ \A m \in msgs : (m.type = "2b" /\ m.acc = a /\ m.slot = slot) => m.bal /= c}

ChoosableAt(slot, c, v) == Voters(slot, c, v) \cup Free(slot, c) \in Quorum2

-----------------------------------------------------------------------------
(* The named invariants, shared with the Python spec and the Z3 proofs. *)

type_ok == /\ maxBal  \in [Acceptors -> Ballots \cup {-1}]
           /\ maxVBal \in [Acceptors -> [Slots -> Ballots \cup {-1}]]
           /\ maxVal  \in [Acceptors -> [Slots -> Values \cup {None}]]
           /\ \A a \in Acceptors, s \in Slots : (maxVal[a][s] = None) <=> (maxVBal[a][s] = -1)
           /\ msgs \subseteq Messages

quorum_intersection == \A Q1 \in Quorum1, Q2 \in Quorum2 : Q1 \cap Q2 /= {}

promise_monotonicity ==
  /\ \A a \in Acceptors, s \in Slots : maxVBal[a][s] <= maxBal[a]
  /\ \A m \in msgs : m.type \in {"1b", "2b"} => m.bal <= maxBal[m.acc]
  /\ \A m \in msgs : m.type = "1b" => \A s \in Slots : m.votes[s].mbal < m.bal

(* At most one value is proposed, and so voted for, per (ballot, slot). *)
one_value_per_ballot ==
  \A m1, m2 \in msgs :
    (/\ m1.type \in {"2a", "2b"} /\ m2.type \in {"2a", "2b"}
     /\ m1.bal = m2.bal /\ m1.slot = m2.slot) => m1.val = m2.val

(* SafeAt per slot, stated from (slot, c, w) as in Paxos.tla. *)
votes_safe ==
  \A slot \in Slots, c \in Ballots, w \in Values :
    ChoosableAt(slot, c, w) =>
      \A m \in msgs : (m.type = "2b" /\ m.slot = slot /\ m.bal > c) => m.val = w

agreement == \A slot \in Slots : Cardinality(Chosen(slot)) <= 1

validity == \A slot \in Slots : \A v \in Chosen(slot) :
              \E m \in msgs : m.type = "2a" /\ m.slot = slot /\ m.val = v

(* Step properties; promise_monotonicity_step is the step half of the     *)
(* explorer's promise_monotonicity (see Paxos.tla).                        *)
promise_monotonicity_step == [][\A a \in Acceptors : maxBal'[a] >= maxBal[a]]_vars

(* The short cut of Paxos.tla's stability: losing no message loses no choice. *)
stability == [][msgs \subseteq msgs' \/ \A slot \in Slots : Chosen(slot) \subseteq Chosen(slot)']_vars
=============================================================================

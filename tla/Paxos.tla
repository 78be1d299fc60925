------------------------------- MODULE Paxos -------------------------------
(***************************************************************************)
(* Single-decree Paxos in the message-set style of Lamport's "Paxos: how  *)
(* to win a Turing award" lecture specification, generalised to Flexible  *)
(* Paxos: Phase2a waits for a phase-1 quorum (Quorum1) and a value is     *)
(* chosen by a phase-2 quorum (Quorum2).  Classic Paxos is the case        *)
(* Quorum1 = Quorum2 = the majorities.                                     *)
(*                                                                         *)
(* Twin of spec/paxos.py: the same variables, actions (with every          *)
(* parameter explicit) and invariant names, and -- for the same constants *)
(* -- the same reachable states.  Acceptors are the indices 0..n-1 the     *)
(* Python spec uses; quorum families are given explicitly as every quorum *)
(* (not only the minimal ones), as the Python spec quantifies over them.   *)
(***************************************************************************)
EXTENDS Integers, FiniteSets

CONSTANTS Acceptors,  \* the acceptor indices, e.g. 0..2
          Values,     \* the values that may be proposed
          MaxBallot,  \* ballots are 0..MaxBallot
          Quorum1,    \* phase-1 quorums: every quorum, as sets of acceptors
          Quorum2,    \* phase-2 quorums
          None        \* a model value standing for "no value"

Ballots == 0..MaxBallot

VARIABLES maxBal,   \* maxBal[a]: highest ballot a promised (-1 = none)
          maxVBal,  \* maxVBal[a]: highest ballot a voted in (-1 = none)
          maxVal,   \* maxVal[a]: the value of that vote (None = none)
          msgs      \* every message ever sent

vars == <<maxBal, maxVBal, maxVal, msgs>>

Messages ==
       [type : {"1a"}, bal : Ballots]
  \cup [type : {"1b"}, acc : Acceptors, bal : Ballots,
        mbal : Ballots \cup {-1}, mval : Values \cup {None}]
  \cup [type : {"2a"}, bal : Ballots, val : Values]
  \cup [type : {"2b"}, acc : Acceptors, bal : Ballots, val : Values]

Send(m) == msgs' = msgs \cup {m}

Init == /\ maxBal  = [a \in Acceptors |-> -1]
        /\ maxVBal = [a \in Acceptors |-> -1]
        /\ maxVal  = [a \in Acceptors |-> None]
        /\ msgs    = {}

Phase1a(b) == /\ Send([type |-> "1a", bal |-> b])
              /\ UNCHANGED <<maxBal, maxVBal, maxVal>>

Phase1b(a, b) ==
  /\ [type |-> "1a", bal |-> b] \in msgs
  /\ b > maxBal[a]
  /\ maxBal' = [maxBal EXCEPT ![a] = b]
  /\ Send([type |-> "1b", acc |-> a, bal |-> b, mbal |-> maxVBal[a], mval |-> maxVal[a]])
  /\ UNCHANGED <<maxVBal, maxVal>>

Phase2a(b, v) ==
  /\ ~ \E m \in msgs : m.type = "2a" /\ m.bal = b
  /\ LET Q1b == {m \in msgs : m.type = "1b" /\ m.bal = b}
     IN  \E Q \in Quorum1 :
           LET Q1bv == {m \in Q1b : m.acc \in Q /\ m.mbal >= 0}
           IN  /\ Q \subseteq {m.acc : m \in Q1b}
               /\ \/ Q1bv = {}
                  \/ \E m \in Q1bv : /\ m.mval = v
                                    /\ \A mm \in Q1bv : m.mbal >= mm.mbal
  /\ Send([type |-> "2a", bal |-> b, val |-> v])
  /\ UNCHANGED <<maxBal, maxVBal, maxVal>>

Phase2b(a, b, v) ==
  /\ [type |-> "2a", bal |-> b, val |-> v] \in msgs
  /\ b >= maxBal[a]
  /\ maxBal'  = [maxBal  EXCEPT ![a] = b]
  /\ maxVBal' = [maxVBal EXCEPT ![a] = b]
  /\ maxVal'  = [maxVal  EXCEPT ![a] = v]
  /\ Send([type |-> "2b", acc |-> a, bal |-> b, val |-> v])

Next == \/ \E b \in Ballots : \/ Phase1a(b)
                              \/ \E v \in Values : Phase2a(b, v)
        \/ \E a \in Acceptors, b \in Ballots : \/ Phase1b(a, b)
                                               \/ \E v \in Values : Phase2b(a, b, v)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
(* What the invariants talk about. *)

(* The quorum families are upward closed (every superset of a quorum is  *)
(* one), so "some quorum all voted" is "the voters form a quorum".         *)
ASSUME /\ \A Q \in Quorum1, a \in Acceptors : Q \cup {a} \in Quorum1
       /\ \A Q \in Quorum2, a \in Acceptors : Q \cup {a} \in Quorum2

(* The acceptors that voted for v at ballot b. *)
Voters(b, v) == {m.acc : m \in {m \in msgs : m.type = "2b" /\ m.bal = b /\ m.val = v}}

chosen == {v \in Values : \E b \in Ballots : Voters(b, v) \in Quorum2}

(* The acceptors that may still vote at ballot c: they have not voted     *)
(* there and have not promised a higher ballot.                            *)
Free(c) == {a \in Acceptors : maxBal[a] <= c /\ \A m \in msgs : m.type = "2b" /\ m.acc = a => m.bal /= c}

(* v is chosen at c, or could still be. *)
ChoosableAt(c, v) == Voters(c, v) \cup Free(c) \in Quorum2

-----------------------------------------------------------------------------
(* The named invariants, shared with the Python spec and the Z3 proofs. *)

AcceptorsTypeOk == /\ maxBal  \in [Acceptors -> Ballots \cup {-1}]
                   /\ maxVBal \in [Acceptors -> Ballots \cup {-1}]
                   /\ maxVal  \in [Acceptors -> Values \cup {None}]
                   /\ \A a \in Acceptors : (maxVal[a] = None) <=> (maxVBal[a] = -1)

type_ok == AcceptorsTypeOk /\ msgs \subseteq Messages

quorum_intersection == \A Q1 \in Quorum1, Q2 \in Quorum2 : Q1 \cap Q2 /= {}

promise_monotonicity ==
  /\ \A a \in Acceptors : maxVBal[a] <= maxBal[a]
  /\ \A m \in msgs : m.type \in {"1b", "2b"} => m.bal <= maxBal[m.acc]
  /\ \A m \in msgs : m.type = "1b" => m.mbal < m.bal /\ m.mbal <= maxVBal[m.acc]

(* At most one value is proposed, and so voted for, at each ballot. *)
one_value_per_ballot ==
  \A m1, m2 \in msgs :
    (m1.type \in {"2a", "2b"} /\ m2.type \in {"2a", "2b"} /\ m1.bal = m2.bal) => m1.val = m2.val

(* SafeAt: no vote for v at b while some w /= v is chosen or choosable at *)
(* a lower ballot c; stated from (c, w) so that each is computed once.    *)
votes_safe ==
  \A c \in Ballots, w \in Values :
    ChoosableAt(c, w) => \A m \in msgs : (m.type = "2b" /\ m.bal > c) => m.val = w

agreement == Cardinality(chosen) <= 1

validity == \A v \in chosen : \E m \in msgs : m.type = "2a" /\ m.val = v

(* Step properties, checked by TLC as action properties.  TLC cannot name *)
(* the two halves of one property apart, so the step half of the         *)
(* explorer's promise_monotonicity is promise_monotonicity_step here.     *)
promise_monotonicity_step == [][\A a \in Acceptors : maxBal'[a] >= maxBal[a]]_vars

(* chosen depends only on the 2b messages, and monotonically (the quorum  *)
(* families are upward closed): a step that loses no message unchooses    *)
(* nothing, so only the others need chosen computed (as the explorer does). *)
stability == [][msgs \subseteq msgs' \/ chosen \subseteq chosen']_vars
=============================================================================

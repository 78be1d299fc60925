----------------------------- MODULE FastPaxos ------------------------------
(***************************************************************************)
(* Fast Paxos (Lamport 2006) over Paxos.tla's state.  At a fast ballot    *)
(* the leader, when free to choose, sends "any" (Phase2aAny) and each     *)
(* acceptor votes for a client's value directly (Phase2bAny), so          *)
(* acceptors may vote for different values at one fast ballot; a value is *)
(* chosen there only by a fast quorum.  A later leader that hears phase-1 *)
(* quorum Q report highest vote ballot k proposes: if one value was voted *)
(* at k, that value; if several (a collision at a fast ballot), the value *)
(* w such that for some fast quorum R every acceptor of Q \cap R reported *)
(* (k, w), or anything if there is no such w.  Acceptors vote at most once *)
(* per ballot.                                                             *)
(*                                                                         *)
(* Twin of spec/fastpaxos.py: the same variables, actions and invariant   *)
(* names, and the same reachable states for the same constants.            *)
(***************************************************************************)
EXTENDS Integers, FiniteSets

CONSTANTS Acceptors, Values, MaxBallot, Quorum1, Quorum2, None,
          FastBallots,  \* the ballots at which acceptors may vote for client values
          FastQuorum    \* the fast quorums (every one: upward closed)

VARIABLES maxBal, maxVBal, maxVal, msgs

vars == <<maxBal, maxVBal, maxVal, msgs>>

Classic == INSTANCE Paxos

Ballots == Classic!Ballots

ASSUME /\ FastBallots \subseteq Ballots
       /\ \A Q \in FastQuorum, a \in Acceptors : Q \cup {a} \in FastQuorum

Send(m) == msgs' = msgs \cup {m}

Init == Classic!Init

Phase1a(b) == Classic!Phase1a(b)

Phase1b(a, b) == Classic!Phase1b(a, b)

(* The leader of b already sent its phase-2 message (a value or "any"). *)
Started(b) == \E m \in msgs : m.type \in {"2a", "any"} /\ m.bal = b

(* The phase-1 quorums every member of which promised b. *)
Heard(b) == LET promised == {m.acc : m \in {m \in msgs : m.type = "1b" /\ m.bal = b}}
            IN  {Q \in Quorum1 : Q \subseteq promised}

(* The 1b messages for b from the acceptors in Q. *)
Reports(b, Q) == {m \in msgs : m.type = "1b" /\ m.bal = b /\ m.acc \in Q}

(* The highest vote ballot reported (-1 if none voted). *)
Top(rs) == CHOOSE k \in {r.mbal : r \in rs} : \A r \in rs : r.mbal <= k

TopValues(rs) == {r.mval : r \in {r \in rs : r.mbal = Top(rs)}}

(* Values that a fast quorum may have chosen at the fast ballot Top(rs). *)
MaybeChosen(rs) ==
  {w \in TopValues(rs) :
     \E R \in FastQuorum : \A r \in rs : r.acc \in R => (r.mbal = Top(rs) /\ r.mval = w)}

(* After hearing rs, the leader is free to propose anything: nobody voted, *)
(* or several values were voted at the top ballot (a collision, so it was  *)
(* fast, and nothing was chosen below it) and none may have been chosen    *)
(* there.  A single value voted at the top ballot, classic or fast, may    *)
(* have been chosen at it or below, and must be proposed.                  *)
FreeAfter(rs) == \/ Top(rs) = -1
                 \/ Cardinality(TopValues(rs)) > 1 /\ MaybeChosen(rs) = {}

(* What the leader may propose after hearing rs. *)
Allowed(rs) == IF FreeAfter(rs) THEN Values
               ELSE IF Cardinality(TopValues(rs)) = 1 THEN TopValues(rs)
               ELSE MaybeChosen(rs)

Phase2a(b, v) ==
  /\ ~ Started(b)
  /\ \E Q \in Heard(b) : v \in Allowed(Reports(b, Q))
  /\ Send([type |-> "2a", bal |-> b, val |-> v])
  /\ UNCHANGED <<maxBal, maxVBal, maxVal>>

Phase2aAny(b) ==
  /\ b \in FastBallots
  /\ ~ Started(b)
  /\ \E Q \in Heard(b) : FreeAfter(Reports(b, Q))
  /\ Send([type |-> "any", bal |-> b])
  /\ UNCHANGED <<maxBal, maxVBal, maxVal>>

(* Acceptor a votes for v at b: at most once per ballot, never below its promise. *)
Vote(a, b, v) ==
  /\ maxVBal[a] < b
  /\ b >= maxBal[a]
  /\ maxBal'  = [maxBal  EXCEPT ![a] = b]
  /\ maxVBal' = [maxVBal EXCEPT ![a] = b]
  /\ maxVal'  = [maxVal  EXCEPT ![a] = v]
  /\ Send([type |-> "2b", acc |-> a, bal |-> b, val |-> v])

Phase2b(a, b, v) == [type |-> "2a", bal |-> b, val |-> v] \in msgs /\ Vote(a, b, v)

Phase2bAny(a, b, v) == [type |-> "any", bal |-> b] \in msgs /\ Vote(a, b, v)

Next == \/ \E b \in Ballots : \/ Phase1a(b)
                              \/ Phase2aAny(b)
                              \/ \E v \in Values : Phase2a(b, v)
        \/ \E a \in Acceptors, b \in Ballots :
              \/ Phase1b(a, b)
              \/ \E v \in Values : Phase2b(a, b, v) \/ Phase2bAny(a, b, v)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
(* A value is chosen at a fast ballot by a fast quorum, at a classic one by *)
(* a phase-2 quorum.                                                        *)

QuorumAt(b) == IF b \in FastBallots THEN FastQuorum ELSE Quorum2

chosen == {v \in Values : \E b \in Ballots : Classic!Voters(b, v) \in QuorumAt(b)}

ChoosableAt(c, v) == Classic!Voters(c, v) \cup Classic!Free(c) \in QuorumAt(c)

-----------------------------------------------------------------------------
(* The named invariants, shared with the Python spec and the Z3 proofs. *)

type_ok == /\ Classic!AcceptorsTypeOk
           /\ msgs \subseteq Classic!Messages \cup [type : {"any"}, bal : Ballots]

(* Every phase-1 quorum meets every phase-2 quorum, and any two fast quorums. *)
quorum_intersection == /\ Classic!quorum_intersection
                       /\ \A Q \in Quorum1, R1, R2 \in FastQuorum : Q \cap R1 \cap R2 /= {}

promise_monotonicity == Classic!promise_monotonicity

(* One value per ballot among proposals and classic-ballot votes; at a    *)
(* fast ballot acceptors vote for whichever client value reached them.    *)
one_value_per_ballot ==
  \A m1, m2 \in msgs :
    (/\ m1.type = "2a" \/ (m1.type = "2b" /\ m1.bal \notin FastBallots)
     /\ m2.type = "2a" \/ (m2.type = "2b" /\ m2.bal \notin FastBallots)
     /\ m1.bal = m2.bal) => m1.val = m2.val

(* SafeAt, stated from (c, w) as in Paxos.tla. *)
votes_safe ==
  \A c \in Ballots, w \in Values :
    ChoosableAt(c, w) => \A m \in msgs : (m.type = "2b" /\ m.bal > c) => m.val = w

agreement == Cardinality(chosen) <= 1

(* Chosen values were proposed: in a 2a, or by a client at a fast ballot  *)
(* opened with "any" (any value may come from a client).                  *)
validity == \A v \in chosen : \E m \in msgs : \/ m.type = "2a" /\ m.val = v
                                             \/ m.type = "any"

promise_monotonicity_step == Classic!promise_monotonicity_step

(* The short cut of Paxos.tla's stability: losing no message loses no choice. *)
stability == [][msgs \subseteq msgs' \/ chosen \subseteq chosen']_vars
=============================================================================

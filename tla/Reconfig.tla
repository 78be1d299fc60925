------------------------------ MODULE Reconfig ------------------------------
(***************************************************************************)
(* Reconfiguration through the log with an alpha-window (Lamport,         *)
(* "Reconfiguring a State Machine", 2010).  Multi-Paxos whose commands    *)
(* include Switch[k], "switch to configuration k": chosen in slot i, it   *)
(* governs slots i + Alpha on.  The configuration of slot s is the one in *)
(* force after executing slots 0..s - Alpha (configuration 0 for          *)
(* s < Alpha), known once those slots are all chosen; a leader proposes   *)
(* in s under it, over a phase-1 quorum of it, and its 2a names it.  Only *)
(* members of that configuration vote, and a value is chosen by a         *)
(* phase-2 quorum of the configuration its votes name.                    *)
(*                                                                         *)
(* Twin of spec/reconfig.py: the same variables, actions and invariant    *)
(* names, and the same reachable states for the same constants.  Bug is   *)
(* "none", or one of the spec's deliberate bugs: "early" (a leader uses   *)
(* the configuration after the longest chosen prefix below the slot, no   *)
(* window) or "mixed" (its phase-1 quorum may come from any               *)
(* configuration).                                                        *)
(***************************************************************************)
EXTENDS Integers, FiniteSets

CONSTANTS Acceptors, Values, MaxBallot, Slots, Alpha, ConfigIds, Quorum1, Quorum2, Members, Switch, Bug, None

Ballots == 0..MaxBallot
Commands == Values \cup {Switch[k] : k \in DOMAIN Switch}

VARIABLES maxBal, maxVBal, maxVal, msgs

vars == <<maxBal, maxVBal, maxVal, msgs>>

SlotVotes == [Slots -> [mbal : Ballots \cup {-1}, mval : Commands \cup {None}]]

Messages ==
       [type : {"1a"}, bal : Ballots]
  \cup [type : {"1b"}, acc : Acceptors, bal : Ballots, votes : SlotVotes]
  \cup [type : {"2a"}, bal : Ballots, slot : Slots, val : Commands, conf : ConfigIds]
  \cup [type : {"2b"}, acc : Acceptors, bal : Ballots, slot : Slots, val : Commands, conf : ConfigIds]

Send(m) == msgs' = msgs \cup {m}

-----------------------------------------------------------------------------
(* What is chosen, and which configuration governs a slot.                 *)

Voters(slot, b, v, c) ==
  {m.acc : m \in {m \in msgs : m.type = "2b" /\ m.slot = slot /\ m.bal = b /\ m.val = v /\ m.conf = c}}

Chosen(slot) == {v \in Commands : \E b \in Ballots, c \in ConfigIds : Voters(slot, b, v, c) \in Quorum2[c]}

Min(S) == CHOOSE x \in S : \A y \in S : x <= y

(* The configuration after executing slots 0..k: the latest switch chosen *)
(* (the lowest target where a slot has several: only an unsafe run).     *)
RECURSIVE After(_)
After(k) == IF k < 0 THEN 0
            ELSE LET T == {t \in DOMAIN Switch : Switch[t] \in Chosen(k)}
                 IN  IF T = {} THEN After(k - 1) ELSE Min(T)

(* The configuration governing slot: -1 while slots 0..slot - Alpha are not all chosen. *)
Gov(slot) == IF \A j \in 0..(slot - Alpha) : Chosen(j) /= {} THEN After(slot - Alpha) ELSE -1

Prefix(slot) == CHOOSE k \in 0..slot : /\ k = slot \/ Chosen(k) = {}
                                       /\ \A j \in 0..(k - 1) : Chosen(j) /= {}

LeaderConf(slot) == IF Bug = "early" THEN After(Prefix(slot) - 1) ELSE Gov(slot)

Phase1Quorums(c) == IF Bug = "mixed" THEN UNION {Quorum1[d] : d \in ConfigIds} ELSE Quorum1[c]

Proposal(b, slot) == {m \in msgs : m.type = "2a" /\ m.bal = b /\ m.slot = slot}

-----------------------------------------------------------------------------

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
  /\ Proposal(b, slot) = {}
  /\ LET c   == LeaderConf(slot)
         Q1b == {m \in msgs : m.type = "1b" /\ m.bal = b}
     IN  /\ c >= 0
         /\ \E Q \in Phase1Quorums(c) :
              LET Q1bv == {m.votes[slot] : m \in {m \in Q1b : m.acc \in Q /\ m.votes[slot].mbal >= 0}}
              IN  /\ Q \subseteq {m.acc : m \in Q1b}
                  /\ \/ Q1bv = {}
                     \/ \E r \in Q1bv : /\ r.mval = v
                                       /\ \A rr \in Q1bv : r.mbal >= rr.mbal
         /\ Send([type |-> "2a", bal |-> b, slot |-> slot, val |-> v, conf |-> c])
  /\ UNCHANGED <<maxBal, maxVBal, maxVal>>

Phase2b(a, b, slot, v) ==
  /\ \E m \in Proposal(b, slot) :
       /\ m.val = v
       /\ a \in Members[m.conf]
       /\ b >= maxBal[a]
       /\ maxBal'  = [maxBal  EXCEPT ![a] = b]
       /\ maxVBal' = [maxVBal EXCEPT ![a][slot] = b]
       /\ maxVal'  = [maxVal  EXCEPT ![a][slot] = v]
       /\ Send([type |-> "2b", acc |-> a, bal |-> b, slot |-> slot, val |-> v, conf |-> m.conf])

Next == \/ \E b \in Ballots : \/ Phase1a(b)
                              \/ \E slot \in Slots, v \in Commands : Phase2a(b, slot, v)
        \/ \E a \in Acceptors, b \in Ballots :
              \/ Phase1b(a, b)
              \/ \E slot \in Slots, v \in Commands : Phase2b(a, b, slot, v)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
ASSUME \A c \in ConfigIds, a \in Acceptors : /\ \A Q \in Quorum1[c] : Q \cup {a} \in Quorum1[c]
                                             /\ \A Q \in Quorum2[c] : Q \cup {a} \in Quorum2[c]

Free(slot, c) ==
  {a \in Acceptors : /\ maxBal[a] <= c
                     /\ \A m \in msgs : (m.type = "2b" /\ m.acc = a /\ m.slot = slot) => m.bal /= c}

(* The configuration deciding slot at ballot c: its proposal's, else the governing one (0 while unknown). *)
ConfAt(slot, c) == IF Proposal(c, slot) /= {} THEN (CHOOSE m \in Proposal(c, slot) : TRUE).conf
                   ELSE IF Gov(slot) >= 0 THEN Gov(slot) ELSE 0

VotersAt(slot, c, v) == {m.acc : m \in {m \in msgs : m.type = "2b" /\ m.slot = slot /\ m.bal = c /\ m.val = v}}

ChoosableAt(slot, c, v) == VotersAt(slot, c, v) \cup Free(slot, c) \in Quorum2[ConfAt(slot, c)]

-----------------------------------------------------------------------------
(* The named invariants, shared with the Python spec and the Z3 proof. *)

type_ok == /\ maxBal  \in [Acceptors -> Ballots \cup {-1}]
           /\ maxVBal \in [Acceptors -> [Slots -> Ballots \cup {-1}]]
           /\ maxVal  \in [Acceptors -> [Slots -> Commands \cup {None}]]
           /\ \A a \in Acceptors, s \in Slots : (maxVal[a][s] = None) <=> (maxVBal[a][s] = -1)
           /\ msgs \subseteq Messages

quorum_intersection == \A c \in ConfigIds : \A Q1 \in Quorum1[c], Q2 \in Quorum2[c] : Q1 \cap Q2 /= {}

promise_monotonicity ==
  /\ \A a \in Acceptors, s \in Slots : maxVBal[a][s] <= maxBal[a]
  /\ \A m \in msgs : m.type \in {"1b", "2b"} => m.bal <= maxBal[m.acc]
  /\ \A m \in msgs : m.type = "1b" => \A s \in Slots : m.votes[s].mbal < m.bal

one_value_per_ballot ==
  \A m1, m2 \in msgs :
    (/\ m1.type \in {"2a", "2b"} /\ m2.type \in {"2a", "2b"}
     /\ m1.bal = m2.bal /\ m1.slot = m2.slot) => m1.val = m2.val

(* Every proposal and vote names the configuration governing its slot. *)
votes_governed == \A m \in msgs : m.type \in {"2a", "2b"} => m.conf = Gov(m.slot)

votes_safe ==
  \A slot \in Slots, c \in Ballots, w \in Commands :
    ChoosableAt(slot, c, w) =>
      \A m \in msgs : (m.type = "2b" /\ m.slot = slot /\ m.bal > c) => m.val = w

agreement == \A slot \in Slots : Cardinality(Chosen(slot)) <= 1

validity == \A slot \in Slots : \A v \in Chosen(slot) :
              \E m \in msgs : m.type = "2a" /\ m.slot = slot /\ m.val = v

promise_monotonicity_step == [][\A a \in Acceptors : maxBal'[a] >= maxBal[a]]_vars

stability == [][msgs \subseteq msgs' \/ \A slot \in Slots : Chosen(slot) \subseteq Chosen(slot)']_vars
=============================================================================

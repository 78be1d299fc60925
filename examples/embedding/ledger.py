"""A bank ledger replicated by paxiom: an application object of its own, not the shipped KV store.

Any class with `apply(op) -> bytes`, `snapshot() -> bytes` and `restore(bytes)` can be served by a node
(`paxiom node --app examples/embedding/ledger.py:Ledger ...`); the node adds the replicated log, client
sessions (a retried transfer moves money once), durability and linearizable answers. The rules of the
object are the application's: here, no account ever goes below zero and money is never created by a
transfer. Ops are JSON for readability; `apply` must be deterministic, so it never reads a clock.

Run `python examples/embedding/ledger.py --cluster cluster.toml` against a cluster started with the app.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


class Ledger:
    def __init__(self) -> None:
        self.balances: dict[str, int] = {}

    def apply(self, op: bytes) -> bytes:
        try:
            request = json.loads(op)
            answer = self._run(request["do"], request)
        except (ValueError, KeyError, TypeError) as exc:
            answer = {"ok": False, "error": f"bad op: {exc}"}
        return json.dumps(answer, sort_keys=True).encode()

    def _run(self, do: str, r: dict[str, Any]) -> dict[str, Any]:
        if do == "open":
            if r["account"] in self.balances:
                return {"ok": False, "error": "account exists"}
            self.balances[str(r["account"])] = 0
            return {"ok": True}
        if do == "deposit":
            amount = _amount(r)
            self.balances[_known(self, r["account"])] += amount
            return {"ok": True, "balance": self.balances[r["account"]]}
        if do == "transfer":
            source, target, amount = _known(self, r["from"]), _known(self, r["to"]), _amount(r)
            if self.balances[source] < amount:
                return {"ok": False, "error": "insufficient funds", "balance": self.balances[source]}
            self.balances[source] -= amount
            self.balances[target] += amount
            return {"ok": True, "balance": self.balances[source]}
        if do == "balance":
            return {"ok": True, "balance": self.balances[_known(self, r["account"])]}
        if do == "total":
            return {"ok": True, "total": sum(self.balances.values()), "accounts": len(self.balances)}
        raise ValueError(f"unknown op {do!r}")

    def snapshot(self) -> bytes:
        return json.dumps(self.balances, sort_keys=True).encode()

    def restore(self, state: bytes) -> None:
        self.balances = {str(k): int(v) for k, v in json.loads(state).items()}


def _known(ledger: Ledger, account: Any) -> str:
    if account not in ledger.balances:
        raise KeyError(f"no account {account!r}")
    return str(account)


def _amount(request: dict[str, Any]) -> int:
    amount = request["amount"]
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValueError("an amount is a positive integer")
    return amount


def op(do: str, **fields: Any) -> bytes:
    """The bytes a client sends for one ledger operation."""
    return json.dumps({"do": do, **fields}, sort_keys=True).encode()


def main() -> None:
    """Open two accounts, move money between them, and show that the total is conserved."""
    from paxiom.client.cluster import connect

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", required=True, help="the cluster file the nodes were started with")
    args = parser.parse_args()
    with connect(args.cluster) as client:

        def run(label: str, request: bytes) -> None:
            print(label, client.execute(request).decode())

        for account in ("alice", "bob"):
            run(account, op("open", account=account))
        run("deposit", op("deposit", account="alice", amount=100))
        run("transfer", op("transfer", **{"from": "alice"}, to="bob", amount=30))
        run("overdraw", op("transfer", **{"from": "bob"}, to="alice", amount=31))
        run("total", op("total"))


if __name__ == "__main__":
    main()

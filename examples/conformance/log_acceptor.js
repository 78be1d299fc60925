#!/usr/bin/env node
// A Multi-Paxos acceptor speaking paxiom's conformance protocol, version 2, on stdin/stdout.
//
//   paxiom conform --variant multipaxos -- node examples/conformance/log_acceptor.js
//
// One promise covers the whole log; each slot keeps its latest vote. A promise reports the latest vote of
// every slot ("votes"), which is how a new leader's single phase 1 catches up on the log. State lives in
// <data_dir>/log.json, written, fsynced and renamed into place before any reply that depends on it.
// Init for anything but Multi-Paxos over paxiom-conform/2 is refused ("unsupported").
"use strict";

const fs = require("fs");
const path = require("path");
const readline = require("readline");

let me = null;
let file = null;
let state = { promised: null, votes: {} }; // votes: slot -> { ballot, value }

// Ballots are [round, proposer id]: compare the round, then the id.
function compare(a, b) {
  if (a === null) return b === null ? 0 : -1;
  if (b === null) return 1;
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
}

function persist() {
  const fd = fs.openSync(file + ".tmp", "w");
  fs.writeSync(fd, JSON.stringify(state));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(file + ".tmp", file);
}

function send(msg) {
  process.stdout.write(JSON.stringify(msg) + "\n");
}

function nack(msg) {
  send({ type: "nack", from: me, to: msg.from, ballot: msg.ballot, promised: state.promised });
}

function handle(msg) {
  switch (msg.type) {
    case "init":
      if (msg.protocol !== "paxiom-conform/2" || msg.variant !== "multipaxos")
        throw { code: "unsupported", text: "a Multi-Paxos acceptor: paxiom-conform/2, variant multipaxos" };
      me = msg.node;
      file = path.join(msg.data_dir, "log.json");
      if (fs.existsSync(file)) state = JSON.parse(fs.readFileSync(file, "utf8"));
      return;
    case "prepare": // one prepare for every slot
      if (compare(msg.ballot, state.promised) <= 0) return nack(msg);
      state.promised = msg.ballot;
      persist();
      const votes = Object.keys(state.votes).map((slot) => ({ slot: Number(slot), ...state.votes[slot] }));
      return send({ type: "promise", from: me, to: msg.from, ballot: msg.ballot, votes: votes });
    case "accept": // at or above the one promise, in whichever slot; the vote raises the promise
      if (compare(msg.ballot, state.promised) < 0) return nack(msg);
      state.promised = msg.ballot;
      state.votes[msg.slot] = { ballot: msg.ballot, value: msg.value };
      persist();
      return send({ type: "accepted", from: me, to: msg.from, ballot: msg.ballot, slot: msg.slot, value: msg.value });
    default:
      throw { code: "unsupported", text: "an acceptor does not handle " + msg.type };
  }
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  let msg = null;
  try {
    msg = JSON.parse(line);
    handle(msg);
    send({ type: "done", seq: msg.seq });
  } catch (e) {
    send({ type: "error", seq: msg && msg.seq, code: e.code || "malformed", text: e.text || String(e) });
  }
});

#!/usr/bin/env node
// A Paxos acceptor speaking paxiom's conformance protocol (paxiom-conform/1) on stdin/stdout.
//
//   paxiom conform --role acceptor -- node examples/conformance/acceptor.js
//
// One JSON object per line in, one per line out. The first line is `init` (node id, peers, quorums and the
// data directory); every input carries `seq`, and the answer to it is any number of messages followed by
// `{"type": "done", "seq": <same>}`. The acceptor's promise and vote live in <data_dir>/acceptor.json,
// written (and fsynced, then renamed into place) before any reply that depends on them is printed, so a
// SIGKILL at any moment loses nothing that was promised.
"use strict";

const fs = require("fs");
const path = require("path");
const readline = require("readline");

let me = null;
let file = null;
let state = { promised: null, accepted: null, value: null };

// Ballots are [round, proposer id]: compare the round, then the id.
function compare(a, b) {
  if (a === null) return b === null ? 0 : -1;
  if (b === null) return 1;
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
}

function persist() {
  const tmp = file + ".tmp";
  const fd = fs.openSync(tmp, "w");
  fs.writeSync(fd, JSON.stringify(state));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

function send(msg) {
  process.stdout.write(JSON.stringify(msg) + "\n");
}

function handle(msg) {
  switch (msg.type) {
    case "init":
      me = msg.node;
      file = path.join(msg.data_dir, "acceptor.json");
      if (fs.existsSync(file)) state = JSON.parse(fs.readFileSync(file, "utf8"));
      return;
    case "prepare":
      if (compare(msg.ballot, state.promised) > 0) {
        state.promised = msg.ballot;
        persist();
        const last = state.accepted === null ? null : { ballot: state.accepted, value: state.value };
        send({ type: "promise", from: me, to: msg.from, ballot: msg.ballot, last: last });
      } else {
        send({ type: "nack", from: me, to: msg.from, ballot: msg.ballot, promised: state.promised });
      }
      return;
    case "accept":
      if (compare(msg.ballot, state.promised) >= 0) {
        state = { promised: msg.ballot, accepted: msg.ballot, value: msg.value };
        persist();
        send({ type: "accepted", from: me, to: msg.from, ballot: msg.ballot, value: msg.value });
      } else {
        send({ type: "nack", from: me, to: msg.from, ballot: msg.ballot, promised: state.promised });
      }
      return;
    default:
      throw { code: "unsupported", text: "an acceptor does not handle " + msg.type };
  }
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    send({ type: "error", seq: null, code: "malformed", text: String(e) });
    return;
  }
  try {
    handle(msg);
    send({ type: "done", seq: msg.seq });
  } catch (e) {
    send({ type: "error", seq: msg.seq, code: e.code || "crash", text: e.text || String(e) });
  }
});

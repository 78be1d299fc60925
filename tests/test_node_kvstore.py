"""The shipped KV application: every op's answer, bounded listing, deterministic snapshots."""

from __future__ import annotations

import msgpack
from hypothesis import given
from hypothesis import strategies as st

from paxiom.node import kvstore as kv
from paxiom.node.kvstore import KVResult, KVStore


def run(store: KVStore, op: bytes) -> KVResult:
    return KVResult.decode(store.apply(op))


def test_get_put_delete() -> None:
    store = KVStore()
    assert run(store, kv.get_op("a")).status == kv.NOT_FOUND
    assert run(store, kv.put_op("a", b"1")) == KVResult(kv.OK)
    assert run(store, kv.get_op("a")) == KVResult(kv.OK, b"1")
    assert run(store, kv.delete_op("a")) == KVResult(kv.OK)
    assert run(store, kv.delete_op("a")).status == kv.NOT_FOUND
    assert run(store, kv.get_op("a")).status == kv.NOT_FOUND


def test_cas_distinguishes_missing_mismatch_and_absent_expectation() -> None:
    store = KVStore()
    assert run(store, kv.cas_op("k", b"x", b"y")).status == kv.NOT_FOUND
    assert run(store, kv.cas_op("k", None, b"1")).status == kv.OK
    assert run(store, kv.cas_op("k", None, b"2")) == KVResult(kv.MISMATCH, b"1")
    assert run(store, kv.cas_op("k", b"0", b"2")) == KVResult(kv.MISMATCH, b"1")
    assert run(store, kv.cas_op("k", b"1", b"2")).status == kv.OK
    assert run(store, kv.get_op("k")).value == b"2"


def test_list_is_bounded_ordered_and_pages() -> None:
    store = KVStore()
    for key in ["b", "a/3", "a/1", "a/2", "ab", "c"]:
        store.apply(kv.put_op(key, b""))
    first = run(store, kv.list_op("a/", limit=2))
    assert first.keys == ("a/1", "a/2") and first.more
    rest = run(store, kv.list_op("a/", limit=2, start_after="a/2"))
    assert rest.keys == ("a/3",) and not rest.more
    assert run(store, kv.list_op("", limit=10)).keys == ("a/1", "a/2", "a/3", "ab", "b", "c")
    assert run(store, kv.list_op("a", limit=kv.MAX_LIST + 1)).status == kv.ERROR


def test_malformed_and_oversized_ops_are_answered_not_raised() -> None:
    store = KVStore()
    for op in [
        b"\xc1",
        msgpack.packb(["nope"]),
        msgpack.packb(["put", "k"]),
        msgpack.packb(["get", 3]),
        kv.put_op("k", b"x" * (kv.MAX_VALUE_BYTES + 1)),
        kv.get_op("k" * (kv.MAX_KEY_BYTES + 1)),
    ]:
        assert run(store, op).status == kv.ERROR
    assert store.data == {}


ops = st.one_of(
    st.builds(kv.put_op, st.sampled_from("abc"), st.binary(max_size=3)),
    st.builds(kv.delete_op, st.sampled_from("abc")),
    st.builds(kv.cas_op, st.sampled_from("abc"), st.none() | st.binary(max_size=1), st.binary(max_size=2)),
    st.builds(kv.get_op, st.sampled_from("abc")),
    st.builds(kv.list_op, st.sampled_from(["", "a"]), st.integers(1, 3)),
)


@given(st.lists(ops, max_size=30), st.integers(0, 30))
def test_snapshot_restore_mid_run_gives_the_same_results_and_state(run_ops: list[bytes], cut: int) -> None:
    straight = KVStore()
    answers = [straight.apply(op) for op in run_ops]
    first, second = KVStore(), KVStore()
    head = [first.apply(op) for op in run_ops[:cut]]
    second.restore(first.snapshot())
    tail = [second.apply(op) for op in run_ops[cut:]]
    assert head + tail == answers
    assert second.snapshot() == straight.snapshot()
    assert second.keys == sorted(straight.data)

"""Linearizability checking of client histories (Wing–Gong/Lowe search as Porcupine does it, per key)."""

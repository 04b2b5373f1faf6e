"""Provenance: a signed-if-asked record of how every output was made, and the tools reading it.

record (build a record per output) → signing (ed25519 over the canonical record) → the writers
embed it; inspect, verify and reproduce read it back.
"""

// Package exports owns Plenty's open data: the encoders that write the
// ledger's events and the tables derived from them (councils, delegates,
// items, offers, needs, agreements, transfers, accounts) as Arrow IPC,
// Parquet and CSV files with a Frictionless datapackage.json, and the
// offline verifier that checks such files, from a folder or a hub's
// /open/ URL, against the signed checkpoint.
//
// Write publishes a snapshot: one pass over the events feeds every events
// file, the Merkle tree and a plenty.State; each table is then computed
// once from that state, one entity at a time, into every format. Every
// file is read back before the snapshot's folder is renamed into place:
// the events for their leaf hashes, columns and root, each table against
// digests of the rows written. Memory is a few record batches plus the
// state the fold needs, never a copy of a table.
//
// Verify checks what anyone downloaded: every leaf hash, the root against
// the checkpoint, the signature against the key, consistency with an
// earlier checkpoint, and each table against a replay of the events.
//
// It is the only package that imports Arrow. It must build without cgo,
// never import DuckDB or the ledger (it reads events through an
// EventSource), and never put in a table a column that may hold personal
// data: delegates' labels, token hashes and volunteers stay out of every
// table. The events' bodies are published byte for byte, as they are
// hashed: whatever an event records is public.
package exports

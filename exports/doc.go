// Package exports owns Plenty's open data: the encoders that write the
// ledger's events and the tables derived from them (councils, delegates,
// items, offers, needs, agreements, transfers, accounts) as Arrow IPC,
// Parquet and CSV files with a Frictionless datapackage.json, and the
// offline verifier that checks such files, from a folder or a hub's
// /open/ URL, against the signed checkpoint.
//
// Write publishes a snapshot. The events and the entity tables are part
// files (parts.go, tableparts.go): a full events part of 2^16 events never
// changes and is a complete subtree of the Merkle tree, and a table's part
// (the entities first recorded in a range) changes only while one of its
// entities does, so a snapshot hard-links from the previous one what did
// not change and writes the rest. With Options.Projections (the ledger's
// DuckDB documents) the tables are read entity by entity from the store
// and only the new events are read; without, every event is replayed
// through plenty.State. Every file written is read back before the
// snapshot's folder is renamed into place: the events for their leaf
// hashes, columns and root, each table against digests of the rows
// written. Memory is a few record batches (plus the state, for a replay),
// never a copy of a table.
//
// Verify checks what anyone downloaded: every leaf hash, each part's tree
// hash, the root against the checkpoint, the signature against the key,
// consistency with an earlier checkpoint, and each table against a replay
// of the events, as a multiset of rows (verify_tables.go). The replay
// folds each entity that leaves the state into its table's multiset and
// drops it (verify_closed.go), so that it holds what is live, not the
// whole history.
//
// It is the only package that imports Arrow. It must build without cgo,
// never import DuckDB or the ledger (it reads events through an
// EventSource), and never put in a table a column that may hold personal
// data: delegates' labels, token hashes and volunteers stay out of every
// table. The events' bodies are published byte for byte, as they are
// hashed: whatever an event records is public.
package exports

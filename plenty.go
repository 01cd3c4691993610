// Package plenty holds the domain of the Plenty hub: councils, delegates,
// items, quantities, offers, needs, agreements and the ledger's events, and
// the error type every layer speaks.
//
// It imports nothing of the project and nothing heavy. Each technology lives
// in its own folder: ledger/ (DuckDB), matching/ (pure computation),
// exports/ (Arrow, Parquet, CSV), hub/ (HTTP). They talk to each other in
// the terms defined here.
package plenty

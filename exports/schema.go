package exports

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// colType is the logical type of a column. Each has one Arrow type (also
// used for Parquet, through pqarrow), one text form (CSV), and one
// Frictionless Table Schema type.
type colType int

const (
	tString colType = iota // UTF-8 text
	tInt                   // int64
	tFloat                 // float64, only for coordinates and distances
	tTime                  // timestamp, nanoseconds, UTC
	tAmount                // exact decimal with 3 fractional digits
	tBinary                // bytes; the events' body (UTF-8 JSON)
	tHash                  // 32 bytes; hex in CSV
)

// column describes one column of a published table: its data dictionary
// entry.
type column struct {
	name     string
	typ      colType
	nullable bool
	vf       string // the ValueFlows term the column carries, if any
	desc     string
}

// table describes one published table.
type table struct {
	name       string
	title      string
	desc       string
	primaryKey []string
	cols       []column
	kind       string // the plenty.Change kind of its rows; "" for events and accounts
}

var timestampNS = &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}

// amountType holds any plenty.Amount exactly: 19 digits cover int64.
var amountType = &arrow.Decimal128Type{Precision: 19, Scale: 3}

func (t colType) arrow() arrow.DataType {
	switch t {
	case tInt:
		return arrow.PrimitiveTypes.Int64
	case tFloat:
		return arrow.PrimitiveTypes.Float64
	case tTime:
		return timestampNS
	case tAmount:
		return amountType
	case tBinary:
		return arrow.BinaryTypes.Binary
	case tHash:
		return &arrow.FixedSizeBinaryType{ByteWidth: 32}
	}
	return arrow.BinaryTypes.String
}

// schema returns the Arrow schema of the table.
func (t *table) schema() *arrow.Schema {
	fields := make([]arrow.Field, len(t.cols))
	for i, c := range t.cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ.arrow(), Nullable: c.nullable}
	}
	return arrow.NewSchema(fields, nil)
}

const (
	descQuantity = "Exact decimal quantity (at most 3 fractional digits) in the unit given by the unit column."
	descUnit     = "The item's base unit (kg, l, each, h, m, m2): the unit of every quantity in the row [vf:hasUnit]."
	descItem     = "Item code, such as wheat-flour; see the items table."
	descCouncil  = "Council id; see the councils table."
)

// eventsTable is the ledger itself. Every column but leaf_hash is read from
// body; body is the exact bytes hashed into the Merkle tree.
var eventsTable = &table{
	name:  "events",
	title: "Ledger events",
	desc: "Every fact in the ledger, in order. leaf_hash is SHA-256(0x00 || body) (RFC 6962); " +
		"the Merkle tree over the leaves, in seq order, has the root hash signed in the checkpoint.",
	primaryKey: []string{"seq"},
	cols: []column{
		{name: "seq", typ: tInt, desc: "Position in the ledger: 0, 1, 2, … with no gaps."},
		{name: "time", typ: tTime, vf: "vf:hasPointInTime", desc: "When the hub recorded the event (UTC); never earlier than the previous event's."},
		{name: "kind", typ: tString, desc: "What happened, such as offer.posted or delegate.recalled."},
		{name: "actor", typ: tString, desc: "Who caused it: hub, public, delegate:ID (the mandate it was taken under) or volunteer:ID."},
		{name: "body", typ: tBinary, desc: "The exact canonical JSON bytes that are hashed: {seq, time, kind, actor, data}. Text (UTF-8) in CSV."},
		{name: "leaf_hash", typ: tHash, desc: "SHA-256 of 0x00 followed by body; lowercase hex in CSV."},
	},
}

var councilsTable = &table{
	kind: "council",
	name: "councils", title: "Councils", desc: "Workplace councils [vf:Organization].",
	primaryKey: []string{"id"},
	cols: []column{
		{name: "id", typ: tString, desc: "Council id."},
		{name: "name", typ: tString, vf: "vf:name", desc: "The council's name."},
		{name: "classifiedAs", typ: tString, vf: "vf:classifiedAs", desc: "Sector, such as food."},
		{name: "place", typ: tString, desc: "Place name."},
		{name: "lat", typ: tFloat, vf: "vf:lat", desc: "Latitude, decimal degrees (WGS 84)."},
		{name: "long", typ: tFloat, vf: "vf:long", desc: "Longitude, decimal degrees (WGS 84)."},
		{name: "created", typ: tTime, vf: "vf:created", desc: "When the council registered."},
	},
}

// delegatesTable publishes mandates: their text, scopes and limits are public
// by design. The label, which may name a person, and the token hash are
// never published.
var delegatesTable = &table{
	kind: "delegate",
	name: "delegates", title: "Delegates' mandates",
	desc:       "Each delegate's written mandate, scopes and term. Labels (which may name a person) and credentials are not published.",
	primaryKey: []string{"id"},
	cols: []column{
		{name: "id", typ: tString, desc: "Delegate (mandate) id; events name it in actor as delegate:ID."},
		{name: "council", typ: tString, desc: descCouncil},
		{name: "mandate", typ: tString, desc: "The mandate's text as written by the council's assembly."},
		{name: "scopes", typ: tString, desc: "Scopes granted, space-separated: post, accept, delegate."},
		{name: "cosign_above", typ: tAmount, desc: "Acceptances above this quantity (in the item's base unit) need a second delegate; 0 means never."},
		{name: "issued_by", typ: tString, desc: "Who issued the mandate: a delegate's id, \"assembly\" (the council's assembly key) or \"registration\" (a council's first delegate)."},
		{name: "issued_at", typ: tTime, vf: "vf:hasBeginning", desc: "When the mandate was issued."},
		{name: "expires_at", typ: tTime, vf: "vf:hasEnd", desc: "When the mandate expires (at most 7 days after issue)."},
		{name: "recalled_at", typ: tTime, nullable: true, desc: "When the council recalled the delegate; empty if not recalled."},
		{name: "recalled_by", typ: tString, desc: "Who recalled it (assembly:COUNCIL or delegate:ID); empty if not recalled."},
		{name: "recall_of", typ: tString, desc: "The mandate the recall named: this one, or one above it in its chain of issue (a recall ends every mandate issued under the one named)."},
	},
}

var itemsTable = &table{
	kind: "item",
	name: "items", title: "Items", desc: "Kinds of goods and services [vf:ResourceSpecification].",
	primaryKey: []string{"code"},
	cols: []column{
		{name: "code", typ: tString, desc: "Item code (slug), such as wheat-flour."},
		{name: "name", typ: tString, vf: "vf:name", desc: "The item's name."},
		{name: "dimension", typ: tString, desc: "What it is measured by: mass, volume, count, time, length or area."},
		{name: "defaultUnitOfResource", typ: tString, vf: "vf:defaultUnitOfResource", desc: "Base unit: every quantity of the item is stored in thousandths of it."},
		{name: "defined_by", typ: tString, desc: "Actor who defined the item; empty for the shipped catalog."},
	},
}

func postingCols(party, partyVF, remaining string) []column {
	return []column{
		{name: "id", typ: tString, desc: "Posting id."},
		{name: party, typ: tString, vf: partyVF, desc: descCouncil},
		{name: "resourceConformsTo", typ: tString, vf: "vf:resourceConformsTo", desc: descItem},
		{name: "resourceQuantity", typ: tAmount, vf: "vf:resourceQuantity", desc: "Quantity posted. " + descQuantity},
		{name: remaining, typ: tAmount, vf: map[string]string{"availableQuantity": "vf:availableQuantity"}[remaining], desc: "Quantity not yet reserved by an agreement. " + descQuantity},
		{name: "unit", typ: tString, vf: "vf:hasUnit", desc: descUnit},
		{name: "lat", typ: tFloat, vf: "vf:lat", desc: "Latitude of the goods, decimal degrees (WGS 84)."},
		{name: "long", typ: tFloat, vf: "vf:long", desc: "Longitude of the goods, decimal degrees (WGS 84)."},
		{name: "max_distance_km", typ: tFloat, desc: "Farthest delivery distance accepted, km."},
		{name: "note", typ: tString, vf: "vf:note", desc: "Free text from the council."},
		{name: "expires_at", typ: tTime, desc: "When the posting expires."},
		{name: "status", typ: tString, desc: "open, withdrawn, expired or fulfilled."},
		{name: "posted_by", typ: tString, desc: "Delegate (mandate) who posted it."},
		{name: "created", typ: tTime, vf: "vf:created", desc: "When it was posted."},
	}
}

var offersTable = &table{
	kind: "offer",
	name: "offers", title: "Offers", desc: "What councils can provide [vf:Intent with provider, purpose offer].",
	primaryKey: []string{"id"},
	cols: append(postingCols("provider", "vf:provider", "availableQuantity"),
		column{name: "hasBeginning", typ: tTime, vf: "vf:hasBeginning", desc: "Available from."},
		column{name: "hasEnd", typ: tTime, vf: "vf:hasEnd", desc: "Available until."},
		column{name: "minimumQuantity", typ: tAmount, vf: "vf:minimumQuantity", desc: "Smallest acceptable split. " + descQuantity},
	),
}

var needsTable = &table{
	kind: "need",
	name: "needs", title: "Needs", desc: "What councils require [vf:Intent with receiver, purpose request].",
	primaryKey: []string{"id"},
	cols: append(postingCols("receiver", "vf:receiver", "remaining"),
		column{name: "due", typ: tTime, vf: "vf:due", desc: "Needed by."},
		column{name: "priority", typ: tInt, desc: "Priority from 1 (low) to 5 (urgent)."},
	),
}

var agreementsTable = &table{
	kind: "agreement",
	name: "agreements", title: "Agreements",
	desc:       "Exchanges both councils accepted [vf:Agreement with two vf:Commitment].",
	primaryKey: []string{"id"},
	cols: []column{
		{name: "id", typ: tString, desc: "Agreement id."},
		{name: "proposal", typ: tString, desc: "The engine's proposal both councils accepted."},
		{name: "offer", typ: tString, desc: "Offer id."},
		{name: "need", typ: tString, desc: "Need id."},
		{name: "resourceConformsTo", typ: tString, vf: "vf:resourceConformsTo", desc: descItem},
		{name: "provider", typ: tString, vf: "vf:provider", desc: descCouncil},
		{name: "receiver", typ: tString, vf: "vf:receiver", desc: descCouncil},
		{name: "resourceQuantity", typ: tAmount, vf: "vf:resourceQuantity", desc: "Quantity agreed. " + descQuantity},
		{name: "unit", typ: tString, vf: "vf:hasUnit", desc: descUnit},
		{name: "distance_km", typ: tFloat, desc: "Great-circle distance between the goods and the need, km."},
		{name: "status", typ: tString, desc: "active, received or cancelled."},
		{name: "created", typ: tTime, vf: "vf:created", desc: "When the second council accepted."},
	},
}

var transfersTable = &table{
	kind: "transfer",
	name: "transfers", title: "Transfers",
	desc:       "Goods received [vf:EconomicEvent, action transfer].",
	primaryKey: []string{"id"},
	cols: []column{
		{name: "id", typ: tString, desc: "Transfer id."},
		{name: "realizationOf", typ: tString, vf: "vf:realizationOf", desc: "Agreement id."},
		{name: "resourceConformsTo", typ: tString, vf: "vf:resourceConformsTo", desc: descItem},
		{name: "provider", typ: tString, vf: "vf:provider", desc: descCouncil},
		{name: "receiver", typ: tString, vf: "vf:receiver", desc: descCouncil},
		{name: "resourceQuantity", typ: tAmount, vf: "vf:resourceQuantity", desc: "Quantity received. " + descQuantity},
		{name: "unit", typ: tString, vf: "vf:hasUnit", desc: descUnit},
		{name: "hasPointInTime", typ: tTime, vf: "vf:hasPointInTime", desc: "When the receiver confirmed receipt."},
		{name: "corrects", typ: tString, vf: "vf:corrects", desc: "Transfer this one corrects; empty if none."},
	},
}

var accountsTable = &table{
	name: "accounts", title: "Accounts",
	desc:       "Each council's standing per item: given and received from transfers, committed from active agreements.",
	primaryKey: []string{"council", "resourceConformsTo"},
	cols: []column{
		{name: "council", typ: tString, desc: descCouncil},
		{name: "resourceConformsTo", typ: tString, vf: "vf:resourceConformsTo", desc: descItem},
		{name: "unit", typ: tString, vf: "vf:hasUnit", desc: descUnit},
		{name: "given", typ: tAmount, desc: "Total transferred to other councils. " + descQuantity},
		{name: "received", typ: tAmount, desc: "Total received from other councils. " + descQuantity},
		{name: "committed", typ: tAmount, desc: "Reserved by active agreements, as provider or receiver. " + descQuantity},
	},
}

// projections lists the tables derived from the events, in publication
// order.
var projections = []*table{councilsTable, delegatesTable, itemsTable, offersTable, needsTable, agreementsTable, transfersTable, accountsTable}

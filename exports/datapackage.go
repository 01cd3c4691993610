package exports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/plentyhub/plenty"
)

// Licence names the licence of the published data, as a Data Package
// licence entry.
type Licence struct {
	Name  string `json:"name"`
	Path  string `json:"path,omitempty"`
	Title string `json:"title,omitempty"`
}

// DefaultLicence dedicates the data to the public domain: the ledger holds
// facts, and anyone may mirror and reuse them.
var DefaultLicence = Licence{
	Name:  "CC0-1.0",
	Path:  "https://creativecommons.org/publicdomain/zero/1.0/",
	Title: "Creative Commons Zero v1.0 Universal",
}

// DataPackage is the datapackage.json of a snapshot (Frictionless Data
// Package v2).
type DataPackage struct {
	Profile     string     `json:"$schema"`
	Name        string     `json:"name"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Version     string     `json:"version"`
	Created     string     `json:"created"`
	Licenses    []Licence  `json:"licenses"`
	Checkpoint  PackageLog `json:"plenty:log"`
	Resources   []Resource `json:"resources"`
}

// PackageLog says which signed tree the snapshot covers.
type PackageLog struct {
	Origin   string `json:"origin"`
	TreeSize int64  `json:"treeSize"`
	RootHash string `json:"rootHash"`
}

// Resource is one table of the snapshot in one format: one file, or (the
// events) the part files that together make the table, in seq order.
type Resource struct {
	Name      string       `json:"name"`
	Type      string       `json:"type"`
	Path      ResourcePath `json:"path"`
	Format    string       `json:"format"`
	MediaType string       `json:"mediatype"`
	Encoding  string       `json:"encoding,omitempty"`
	Bytes     int64        `json:"bytes"`          // of the file, or of all parts together
	Hash      string       `json:"hash,omitempty"` // of the file; each part has its own
	Title     string       `json:"title"`
	Desc      string       `json:"description"`
	Schema    *TableSchema `json:"schema"`
	// Parts describes each file of a partitioned table, in the order of
	// Path.
	Parts []Part `json:"plenty:parts,omitempty"`
	// PartEvents is the part size of a partitioned table.
	PartEvents int64 `json:"plenty:partEvents,omitempty"`
	// RowsFrom says where a projection table's rows came from:
	// "projections" (the ledger's documents, partitioned by their first
	// stamp, so that a later snapshot may reuse the parts no entity of
	// which changed) or "replay" (one part, from a fold of the events).
	RowsFrom string `json:"plenty:rowsFrom,omitempty"`
}

// Part is one file of a partitioned table. For the events, it holds the
// events with First <= seq <= Last; every part but the last holds exactly
// the snapshot's part size of events (a power of two), so a full part is a
// complete subtree of the Merkle tree and TreeHash is that subtree's hash:
// a later snapshot that reuses the part need not read it again to extend
// the tree. For a projection table, it holds the entities whose first
// document the ledger stamped with a seq from First to Last (see
// Projections), Rows of them in id order.
type Part struct {
	Path     string `json:"path"`
	Bytes    int64  `json:"bytes"`
	Hash     string `json:"hash"`
	First    int64  `json:"firstSeq"`
	Last     int64  `json:"lastSeq"`
	TreeHash string `json:"treeHash,omitempty"` // events: RFC 6962 root of the part's leaves, base64
	Rows     *int64 `json:"rows,omitempty"`     // projection tables
}

// ResourcePath is a resource's path: one file, written as a string, or
// the files of a partitioned table, written as an array (Frictionless
// Data Package v2's multi-file resource: the table is their rows in
// order).
type ResourcePath []string

func (p ResourcePath) MarshalJSON() ([]byte, error) {
	if len(p) == 1 {
		return json.Marshal(p[0])
	}
	return json.Marshal([]string(p))
}

func (p *ResourcePath) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*p = ResourcePath{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("path is neither a string nor an array of strings")
	}
	*p = many
	return nil
}

// TableSchema is a Frictionless Table Schema: the data dictionary.
type TableSchema struct {
	Fields        []Field  `json:"fields"`
	PrimaryKey    []string `json:"primaryKey"`
	MissingValues []string `json:"missingValues"`
}

// Field is one column's entry in the data dictionary. ValueFlows names the
// ValueFlows 1.0 property the column carries, as a full IRI.
type Field struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Format      string `json:"format,omitempty"`
	Description string `json:"description"`
	ValueFlows  string `json:"valueflows,omitempty"`
	Arrow       string `json:"arrowType"`
}

const vfNamespace = "https://w3id.org/valueflows/ont/vf#"

// tableSchema returns the data dictionary of t.
func tableSchema(t *table) *TableSchema {
	s := &TableSchema{PrimaryKey: t.primaryKey, MissingValues: []string{""}}
	for _, c := range t.cols {
		f := Field{Name: c.name, Description: c.desc, Arrow: c.typ.arrow().String()}
		switch c.typ {
		case tInt:
			f.Type = "integer"
		case tFloat, tAmount:
			f.Type = "number"
		case tTime:
			f.Type = "datetime"
		default:
			f.Type = "string"
		}
		if c.vf != "" {
			f.ValueFlows = vfNamespace + c.vf[len("vf:"):]
		}
		s.Fields = append(s.Fields, f)
	}
	return s
}

// fileName returns the name of table t's file in format f, such as
// events.arrow.
func fileName(t *table, f Format) string { return t.name + "." + string(f) }

// resourceName names the resource of table t in format f, such as
// events-arrow.
func resourceName(t *table, f Format) string { return t.name + "-" + string(f) }

// resource returns the (first) resource of table t in format f the
// package lists, or nil when it lists none.
func (p *DataPackage) resource(t *table, f Format) *Resource {
	if i := slices.IndexFunc(p.Resources, func(r Resource) bool { return r.Name == resourceName(t, f) }); i >= 0 {
		return &p.Resources[i]
	}
	return nil
}

// newResource describes the file of table t in format f.
func newResource(t *table, f Format, size int64, sha256hex string) Resource {
	r := Resource{
		Name: resourceName(t, f), Type: "table", Path: ResourcePath{fileName(t, f)}, Format: string(f),
		MediaType: f.MediaType(), Bytes: size, Hash: "sha256:" + sha256hex,
		Title: t.title, Desc: t.desc, Schema: tableSchema(t),
	}
	if f == CSV {
		r.MediaType = "text/csv"
		r.Encoding = "utf-8"
	}
	return r
}

// newPartsResource describes the parts of table t in format f.
func newPartsResource(t *table, f Format, parts []Part) Resource {
	if parts == nil {
		parts = []Part{}
	}
	r := newResource(t, f, 0, "")
	r.Hash = ""
	r.Path = ResourcePath{}
	for _, p := range parts {
		r.Path = append(r.Path, p.Path)
		r.Bytes += p.Bytes
	}
	r.Parts = parts
	return r
}

// newDataPackage describes a snapshot at checkpoint c whose last event is
// at last. Version is 1.SIZE.0: the major number changes with the schema,
// the minor with the ledger's size.
func newDataPackage(c Checkpoint, last time.Time, lic *Licence, resources []Resource) *DataPackage {
	if lic == nil {
		lic = &DefaultLicence
	}
	created := last
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	return &DataPackage{
		Profile: "https://datapackage.org/profiles/2.0/datapackage.json",
		Name:    "plenty-open-data",
		Title:   "Plenty hub open data: " + c.Origin,
		Description: "The ledger of a Plenty hub (every posting, agreement and transfer between workplace councils) " +
			"and the tables derived from it. Verify it offline with `plenty verify`: every leaf hash, the Merkle root " +
			"against the signed checkpoint, and every table against the events.",
		Version:    fmt.Sprintf("1.%d.0", c.Size),
		Created:    created.UTC().Format(time.RFC3339),
		Licenses:   []Licence{*lic},
		Checkpoint: PackageLog{Origin: c.Origin, TreeSize: c.Size, RootHash: HashText(c.Root)},
		Resources:  resources,
	}
}

// marshal encodes the package as indented JSON with a final newline.
func (p *DataPackage) marshal() ([]byte, error) {
	b, err := plenty.CanonicalJSON(p)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

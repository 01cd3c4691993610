package exports

import (
	"strings"
	"testing"
)

// A table resource that lists no parts and no path is refused, not read
// as a table of no files (verify indexed the first of none and crashed),
// but in a snapshot of no events, where every table is empty.
func TestTablePartListMustNotBeEmpty(t *testing.T) {
	empty := Resource{Name: "councils-csv", Format: "csv"}
	err := checkTablePartList(councilsTable, CSV, empty, 10)
	if err == nil || !strings.Contains(err.Error(), "lists no parts, but the checkpoint covers 10 events") {
		t.Fatalf("an empty part list of 10 events: %v", err)
	}
	if err := checkTablePartList(councilsTable, CSV, empty, 0); err != nil {
		t.Fatalf("an empty part list of no events: %v", err)
	}
}

// Rows hash under a salt of this process: two multisets of the same rows
// agree, and one row more or changed does not.
func TestMultisetCountsAndSums(t *testing.T) {
	a, b, c := &multiset{}, &multiset{}, &multiset{}
	for _, r := range [][]string{{"c1", "Mill"}, {"c2", "Bakery"}} {
		a.add(r)
	}
	b.add([]string{"c2", "Bakery"})
	b.add([]string{"c1", "Mill"})
	c.add([]string{"c1", "Mill"})
	c.add([]string{"c2", "Bakers"})
	if a.n != b.n || a.sum != b.sum {
		t.Fatal("the same rows in another order do not agree")
	}
	if a.sum == c.sum {
		t.Fatal("a changed row agrees")
	}
}

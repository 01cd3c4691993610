package plenty

import (
	"encoding/json"
	"testing"
)

func TestAmountJSON(t *testing.T) {
	for _, a := range []Amount{0, 1, 500, -500, 80_500, -80_500, MaxAmount} {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var back Amount
		if err := json.Unmarshal(b, &back); err != nil || back != a {
			t.Errorf("%d → %s → %d, %v", a, b, back, err)
		}
	}
	for _, bad := range []string{`80.5`, `"-0"`, `"--1"`, `"+1"`, `"1e3"`, `"0.0001"`, `" 1"`, `""`, `"-"`} {
		var a Amount
		if err := json.Unmarshal([]byte(bad), &a); ErrorCode(err) != EINVALID {
			t.Errorf("%s: %v, want EINVALID", bad, err)
		}
	}
}

// A correction that lowers a receipt is a negative transfer; its projected
// document reads back.
func TestNegativeCorrectionDocument(t *testing.T) {
	w := newWorld(t)
	ag := w.agree(terms("p1", "o1", "n1", 80_000))
	w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{ag.ID, 80_000})
	var changes []Change
	w.s.OnChange(func(c Change) { changes = append(changes, c) })
	w.must(KindCorrectionRecorded, DelegateActor("d_b1"), CorrectionRecorded{TransferID(ag.ID), 79_500})
	for _, c := range changes {
		if c.Kind != "transfer" {
			continue
		}
		doc, ok := w.s.Doc(c)
		var tr Transfer
		if !ok || json.Unmarshal(doc, &tr) != nil || tr.Quantity != -500 {
			t.Fatalf("correction document %s reads back as %+v", doc, tr)
		}
		return
	}
	t.Fatal("the correction touched no transfer")
}

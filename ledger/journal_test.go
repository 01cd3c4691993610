package ledger

import (
	"bytes"
	"testing"
)

func TestJournalRoundTrip(t *testing.T) {
	recs := []journalRecord{
		{IdemKey: "delegate:d1 k1", RequestHash: "abc", Body: []byte(`{"seq":0}`)},
		{Body: []byte(`{"seq":1}`)},
		{IdemKey: "hub x", Body: bytes.Repeat([]byte("z"), 70000)},
	}
	var buf []byte
	for _, r := range recs {
		buf = appendJournalRecord(buf, r)
	}
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"Whole", buf, 3},
		{"TornTail", buf[:len(buf)-5], 2},
		{"TornHeader", buf[:len(buf)-len(appendJournalRecord(nil, recs[2]))+4], 2},
		{"FlippedByteInFirst", flip(buf, 12), 0},
		{"Empty", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []journalRecord
			end, err := readJournal(bytes.NewReader(tt.data), func(r journalRecord) error {
				got = append(got, r)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Fatalf("read %d records, want %d", len(got), tt.want)
			}
			for i, r := range got {
				if r.IdemKey != recs[i].IdemKey || r.RequestHash != recs[i].RequestHash || !bytes.Equal(r.Body, recs[i].Body) {
					t.Fatalf("record %d = %+v", i, r)
				}
			}
			var wantEnd int
			for _, r := range recs[:tt.want] {
				wantEnd += len(appendJournalRecord(nil, r))
			}
			if end != int64(wantEnd) {
				t.Fatalf("end = %d, want %d", end, wantEnd)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 1
	return c
}

// FuzzReadJournal feeds arbitrary bytes to the journal reader: it must
// never panic, and every record it returns must re-encode to the bytes it
// was read from.
func FuzzReadJournal(f *testing.F) {
	f.Add(appendJournalRecord(nil, journalRecord{IdemKey: "k", RequestHash: "h", Body: []byte("{}")}))
	f.Add([]byte{0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var again []byte
		end, err := readJournal(bytes.NewReader(data), func(r journalRecord) error {
			again = appendJournalRecord(again, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if end > int64(len(data)) || !bytes.Equal(again, data[:end]) {
			t.Fatalf("records up to %d do not re-encode to their bytes", end)
		}
	})
}

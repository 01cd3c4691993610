package exports

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// resigned rebuilds a log after edit changed the data of its events (or
// dropped some), with the bodies re-encoded, the tree recomputed and the
// checkpoint signed again with the hub's key: what a hub operator holding
// the key could publish. It returns a folder with the files verify
// requires.
func resigned(t *testing.T, l *testLog, edit func(i int, kind string, data map[string]any) (keep bool)) string {
	t.Helper()
	out := &testLog{t: t, signer: l.signer, verifier: l.verifier}
	for i, ev := range l.events {
		var data map[string]any
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			t.Fatal(err)
		}
		if !edit(i, ev.Kind, data) {
			continue
		}
		raw, err := plenty.CanonicalJSON(data)
		if err != nil {
			t.Fatal(err)
		}
		seq := int64(len(out.events))
		body := plenty.EncodeEvent(seq, ev.Time, ev.Kind, ev.Actor, raw)
		e, err := plenty.DecodeEvent(body)
		if err != nil {
			t.Fatal(err)
		}
		out.events = append(out.events, e)
	}
	dir := t.TempDir()
	rows := make([]eventRow, len(out.events))
	for i, ev := range out.events {
		leaf := tlog.RecordHash(ev.Body)
		rows[i] = eventRow{seq: ev.Seq, timeNS: ev.Time.UnixNano(), kind: ev.Kind, actor: ev.Actor, body: ev.Body, leaf: leaf[:]}
	}
	writeEventsFile(t, filepath.Join(dir, "events.arrow"), rows) // one file, as before the parts
	if err := os.WriteFile(filepath.Join(dir, "checkpoint"), out.checkpoint(int64(len(out.events))), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte(l.verifier+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// the kth event of kind (from 0) in an edit.
func nth(kind string, k int) func(i int, kd string) bool {
	seen := map[int]int{}
	count := -1
	return func(i int, kd string) bool {
		if kd != kind {
			return false
		}
		if _, ok := seen[i]; !ok {
			count++
			seen[i] = count
		}
		return seen[i] == k
	}
}

// Every rule the API enforces is in the fold, so a hub operator who signs
// a log the API would have refused is caught by `plenty verify`, which
// names the event and the rule. One row per rule; a faithful re-signed copy
// passes.
func TestVerifyRefusesResignedLogsThatBreakARule(t *testing.T) {
	base := drawLog(t, false)
	days := func(n int) string {
		return base.events[0].Time.Add(time.Duration(n) * 24 * time.Hour).Format(time.RFC3339)
	}
	tests := []struct {
		name string
		at   func(i int, kind string) bool
		edit func(data map[string]any) (keep bool)
		want string // in the message, after the event's number
	}{
		{"Faithful", nil, nil, ""},
		{"CouncilNameOf201Characters", nth(plenty.KindCouncilRegistered, 0),
			func(d map[string]any) bool { d["name"] = strings.Repeat("n", 201); return true }, "name must be at most 200 characters"},
		{"UnprintableSector", nth(plenty.KindCouncilRegistered, 1),
			func(d map[string]any) bool { d["sector"] = "food\x07"; return true }, "sector must be printable text"},
		{"LatitudeOutOfRange", nth(plenty.KindCouncilRegistered, 1),
			func(d map[string]any) bool { d["location"] = map[string]any{"lat": 91.0, "lon": 0.0}; return true }, "location.lat must be between -90 and 90"},
		{"FirstDelegateForNineDays", nth(plenty.KindCouncilRegistered, 0),
			func(d map[string]any) bool {
				d["delegate"].(map[string]any)["expires_at"] = days(9)
				return true
			}, "delegate.expires_at must be at most 7 days"},
		{"ItemInGrams", nth(plenty.KindItemDefined, 0),
			func(d map[string]any) bool { d["unit"] = "g"; return true }, `unit must be "kg"`},
		{"OfferNoteOf2001Characters", nth(plenty.KindOfferPosted, 0),
			func(d map[string]any) bool { d["note"] = strings.Repeat("x", 2001); return true }, "note must be at most 2000 characters"},
		{"DeliveryOf20001Km", nth(plenty.KindOfferPosted, 0),
			func(d map[string]any) bool { d["max_distance_km"] = 20001; return true }, "max_distance_km must be greater than 0 and at most 20000"},
		{"OfferForAYearAndMore", nth(plenty.KindOfferPosted, 0),
			func(d map[string]any) bool {
				d["expires_at"] = days(400)
				d["available_until"] = days(400)
				return true
			}, "expires_at must be at most 366 days"},
		{"ZeroQuantity", nth(plenty.KindOfferPosted, 1),
			func(d map[string]any) bool { d["quantity"] = "0"; return true }, "quantity must be greater than 0"},
		{"SplitAboveQuantity", nth(plenty.KindOfferPosted, 1),
			func(d map[string]any) bool { d["min_split"] = "2"; return true }, "min_split must be between 0 and the quantity"},
		{"PriorityOfSix", nth(plenty.KindNeedPosted, 0),
			func(d map[string]any) bool { d["priority"] = 6; return true }, "priority must be a whole number from 1"},
		{"PostingForAnotherCouncil", nth(plenty.KindNeedPosted, 0),
			func(d map[string]any) bool { d["council"] = "c2"; return true }, "acts for council c1, not c2"},
		{"MandateOutlivesItsIssuer", nth(plenty.KindDelegateIssued, 0),
			func(d map[string]any) bool {
				d["expires_at"] = base.events[0].Time.Add(7*24*time.Hour + time.Minute).Format(time.RFC3339)
				return true
			}, "may not outlast its issuer"},
		{"UnknownScope", nth(plenty.KindDelegateIssued, 0),
			func(d map[string]any) bool { d["scopes"] = []any{"launder"}; return true }, "scopes[0] must be one of post, accept, delegate"},
		{"UnvouchedVolunteer", nth(plenty.KindVolunteerVouched, 0),
			func(d map[string]any) bool { return false }, "is not vouched for by any council"},
		{"VolunteersAfterTheWindow", nth(plenty.KindTermsSet, 0),
			func(d map[string]any) bool { d["lottery_window"] = int64(time.Minute); return true }, "lottery window closed"},
		{"DrawForTheOtherVolunteer", nth(plenty.KindTaskAssigned, 0),
			func(d map[string]any) bool {
				d["volunteer"] = map[string]any{"v1": "v2", "v2": "v1"}[d["volunteer"].(string)]
				return true
			}, "the published rule draws"},
		{"DrawWithAForgedProof", nth(plenty.KindTaskAssigned, 0),
			func(d map[string]any) bool {
				p := []byte(d["proof"].(string))
				if p[70] == 'a' {
					p[70] = 'b'
				} else {
					p[70] = 'a'
				}
				d["proof"] = string(p)
				return true
			}, "the draw's proof does not verify"},
		{"ExchangeAtAMadeUpDistance", nth(plenty.KindProposalAccepted, 0),
			func(d map[string]any) bool { d["proposal"].(map[string]any)["distance_km"] = 0.0; return true },
			"are 0.0 km apart, but they are 7.3 km apart"},
		{"AgreementWithoutConsent", nth(plenty.KindProposalAccepted, 1),
			func(d map[string]any) bool { return false }, "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := resigned(t, base, func(i int, kind string, data map[string]any) bool {
				if tc.at == nil || !tc.at(i, kind) {
					return true
				}
				return tc.edit(data)
			})
			_, err := Verify(context.Background(), dir, &VerifyOptions{Key: base.verifier})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("a faithful re-signed copy: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("verify accepted a log that breaks the rule")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "event ") {
				t.Fatalf("verify said %q; want the event and %q", err, tc.want)
			}
		})
	}
}

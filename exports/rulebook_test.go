package exports

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
)

// An operator holding the hub's key can rebuild a log after editing,
// dropping, inserting, repeating or reordering events, re-encode the
// bodies, recompute the tree and sign the checkpoint again. The tests of
// this file and of rulebook_*_test.go do so, one rule of the fold at a
// time, and check that verify refuses the log, naming the event and the
// rule.

// draft is an event of a log being edited: its body is built again from
// these fields, under the seq of its new position.
type draft struct {
	time  time.Time
	kind  string
	actor plenty.Actor
	data  map[string]any
	raw   json.RawMessage // when set, the data as written, instead of data
}

// logEdit is a log taken apart for an operator to change: edit, drop,
// insert, reorder or repeat events, then resign it.
type logEdit struct {
	t   *testing.T
	evs []draft
}

func editLog(t *testing.T, l *testLog) *logEdit {
	t.Helper()
	e := &logEdit{t: t}
	for _, ev := range l.events {
		e.evs = append(e.evs, draft{time: ev.Time, kind: ev.Kind, actor: ev.Actor, data: e.asMap(ev.Data)})
	}
	return e
}

// asMap returns data (a payload, or its JSON) as the map an edit changes.
func (e *logEdit) asMap(data any) map[string]any {
	e.t.Helper()
	raw, ok := data.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = plenty.CanonicalJSON(data); err != nil {
			e.t.Fatal(err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// resign encodes the events under their new seqs and writes them with a
// checkpoint signed by l's key.
func (e *logEdit) resign(l *testLog) string {
	t := e.t
	t.Helper()
	out := &testLog{t: t, signer: l.signer, verifier: l.verifier}
	for _, d := range e.evs {
		raw, err := plenty.CanonicalJSON(d.data)
		if err != nil {
			t.Fatal(err)
		}
		if d.raw != nil {
			raw = d.raw
		}
		seq := int64(len(out.events))
		ev, err := plenty.DecodeEvent(plenty.EncodeEvent(seq, d.time, d.kind, d.actor, raw))
		if err != nil {
			t.Fatal(err)
		}
		out.events = append(out.events, ev)
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

// find returns the position of the kth event of kind (from 0).
func (e *logEdit) find(kind string, k int) int {
	e.t.Helper()
	for i, d := range e.evs {
		if d.kind == kind {
			if k == 0 {
				return i
			}
			k--
		}
	}
	e.t.Fatalf("the log has no such %s event", kind)
	return -1
}

// data returns the data of the kth event of kind, to change in place.
func (e *logEdit) data(kind string, k int) map[string]any { return e.evs[e.find(kind, k)].data }

// insert puts an event at position i, at the time of the event before it,
// and returns i.
func (e *logEdit) insert(i int, kind string, actor plenty.Actor, data any) int {
	e.t.Helper()
	d := draft{time: e.evs[i-1].time, kind: kind, actor: actor, data: e.asMap(data)}
	e.evs = append(e.evs[:i], append([]draft{d}, e.evs[i:]...)...)
	return i
}

// then appends an event a minute after the last, and returns its position.
func (e *logEdit) then(kind string, actor plenty.Actor, data any) int {
	e.t.Helper()
	return e.thenAt(e.evs[len(e.evs)-1].time.Add(time.Minute), kind, actor, data)
}

// thenAt appends an event at a time, and returns its position.
func (e *logEdit) thenAt(at time.Time, kind string, actor plenty.Actor, data any) int {
	e.t.Helper()
	e.evs = append(e.evs, draft{time: at, kind: kind, actor: actor, data: e.asMap(data)})
	return len(e.evs) - 1
}

// again inserts a copy of the event at i right after it, and returns the
// copy's position.
func (e *logEdit) again(i int) int {
	e.t.Helper()
	d := e.evs[i]
	return e.insert(i+1, d.kind, d.actor, d.data)
}

// rewrite writes the data of the event at i as the canonical text with
// its first old replaced by new: data that no payload encodes, and
// returns i.
func (e *logEdit) rewrite(i int, old, new string) int {
	e.t.Helper()
	raw, err := plenty.CanonicalJSON(e.evs[i].data)
	if err != nil {
		e.t.Fatal(err)
	}
	e.evs[i].raw = json.RawMessage(strings.Replace(string(raw), old, new, 1))
	return i
}

// drop removes the event at i.
func (e *logEdit) drop(i int) { e.evs = append(e.evs[:i], e.evs[i+1:]...) }

// move takes the event at from to position to (before it), at the time of
// the event it then follows, and returns its new position.
func (e *logEdit) move(from, to int) int {
	d := e.evs[from]
	e.drop(from)
	if from < to {
		to--
	}
	return e.insert(to, d.kind, d.actor, d.data)
}

// ruleRow is an operator's edit of a log that breaks one rule of the fold:
// edit returns the position of the event verify must refuse, and want is
// the rule's words in its message.
type ruleRow struct {
	name string
	edit func(e *logEdit) (refused int)
	want string
}

// change edits the kth event of kind; the fold refuses that event.
func change(kind string, k int, f func(d map[string]any)) func(e *logEdit) int {
	return func(e *logEdit) int {
		i := e.find(kind, k)
		f(e.evs[i].data)
		return i
	}
}

// actedBy gives the kth event of kind another actor.
func actedBy(kind string, k int, actor plenty.Actor) func(e *logEdit) int {
	return func(e *logEdit) int {
		i := e.find(kind, k)
		e.evs[i].actor = actor
		return i
	}
}

// twice records the kth event of kind again right after it.
func twice(kind string, k int) func(e *logEdit) int {
	return func(e *logEdit) int { return e.again(e.find(kind, k)) }
}

// checkRuleRows resigns base under each row's edit and checks that verify
// names the refused event and the rule, and that base resigned as it is
// passes.
func checkRuleRows(t *testing.T, base *testLog, rows []ruleRow) {
	t.Helper()
	if _, err := Verify(context.Background(), editLog(t, base).resign(base), &VerifyOptions{Key: base.verifier}); err != nil {
		t.Fatalf("a faithful re-signed copy: %v", err)
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			e := editLog(t, base)
			n := tc.edit(e)
			_, err := Verify(context.Background(), e.resign(base), &VerifyOptions{Key: base.verifier})
			if err == nil {
				t.Fatal("verify accepted a log that breaks the rule")
			}
			event := fmt.Sprintf("event %d does not follow", n)
			if !strings.Contains(err.Error(), event) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("verify said %q; want %q and %q", err, event, tc.want)
			}
		})
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
	rows := []ruleRow{
		{"CouncilNameOf201Characters", change(plenty.KindCouncilRegistered, 0, func(d map[string]any) { d["name"] = strings.Repeat("n", 201) }),
			"name must be at most 200 characters"},
		{"UnprintableSector", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) { d["sector"] = "food\x07" }),
			"sector must be printable text"},
		{"LatitudeOutOfRange", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) { d["location"] = map[string]any{"lat": 91.0, "lon": 0.0} }),
			"location.lat must be between -90 and 90"},
		{"FirstDelegateForNineDays", change(plenty.KindCouncilRegistered, 0, func(d map[string]any) {
			d["delegate"].(map[string]any)["expires_at"] = days(9)
		}), "delegate.expires_at must be at most 7 days"},
		{"ItemInGrams", change(plenty.KindItemDefined, 0, func(d map[string]any) { d["unit"] = "g" }), `unit must be "kg"`},
		{"OfferNoteOf2001Characters", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["note"] = strings.Repeat("x", 2001) }),
			"note must be at most 2000 characters"},
		{"DeliveryOf20001Km", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["max_distance_km"] = 20001 }),
			"max_distance_km must be greater than 0 and at most 20000"},
		{"OfferForAYearAndMore", change(plenty.KindOfferPosted, 0, func(d map[string]any) {
			d["expires_at"] = days(400)
			d["available_until"] = days(400)
		}), "expires_at must be at most 366 days"},
		{"ZeroQuantity", change(plenty.KindOfferPosted, 1, func(d map[string]any) { d["quantity"] = "0" }), "quantity must be greater than 0"},
		{"SplitAboveQuantity", change(plenty.KindOfferPosted, 1, func(d map[string]any) { d["min_split"] = "2" }),
			"min_split must be between 0 and the quantity"},
		{"PriorityOfSix", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["priority"] = 6 }), "priority must be a whole number from 1"},
		{"PostingForAnotherCouncil", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["council"] = "c2" }),
			"delegate d-c1 acts for council c1, not c2"},
		{"MandateOutlivesItsIssuer", change(plenty.KindDelegateIssued, 0, func(d map[string]any) {
			d["expires_at"] = base.events[0].Time.Add(7*24*time.Hour + time.Minute).Format(time.RFC3339)
		}), "may not outlast its issuer"},
		{"UnknownScope", change(plenty.KindDelegateIssued, 0, func(d map[string]any) { d["scopes"] = []any{"launder"} }),
			`scopes[0] must be one of post, accept, delegate, not "launder"`},
		{"UnvouchedVolunteer", func(e *logEdit) int {
			e.drop(e.find(plenty.KindVolunteerVouched, 0))
			return e.find(plenty.KindTaskVolunteered, 0)
		}, "volunteer v1 is not vouched for by any council"},
		{"VolunteersAfterTheWindow", func(e *logEdit) int {
			e.data(plenty.KindTermsSet, 0)["lottery_window"] = int64(time.Minute)
			return e.find(plenty.KindTaskVolunteered, 0)
		}, "lottery window closed"},
		{"DrawForTheOtherVolunteer", change(plenty.KindTaskAssigned, 0, func(d map[string]any) {
			d["volunteer"] = map[string]any{"v1": "v2", "v2": "v1"}[d["volunteer"].(string)]
		}), "the published rule draws"},
		{"DrawWithAForgedProof", change(plenty.KindTaskAssigned, 0, func(d map[string]any) {
			p := []byte(d["proof"].(string))
			if p[70] == 'a' {
				p[70] = 'b'
			} else {
				p[70] = 'a'
			}
			d["proof"] = string(p)
		}), "the draw's proof does not verify"},
		{"ExchangeAtAMadeUpDistance", change(plenty.KindProposalAccepted, 0, func(d map[string]any) { d["proposal"].(map[string]any)["distance_km"] = 0.0 }),
			"are 0.0 km apart, but they are 7.3 km apart"},
		{"AgreementWithoutConsent", func(e *logEdit) int {
			e.drop(e.find(plenty.KindProposalAccepted, 1))
			return e.find(plenty.KindTaskVolunteered, 0)
		}, "does not exist"},
	}
	checkRuleRows(t, base, rows)
}

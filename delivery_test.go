package plenty

import (
	"encoding/hex"
	"strings"
	"testing"
)

func (w *world) volunteer(id, handle string) error {
	return w.apply(KindVolunteerRegistered, ActorPublic, VolunteerGrant{
		Volunteer: Volunteer{ID: id, Handle: handle, RegisteredAt: w.now}, TokenHash: HashToken("vtoken-" + id)})
}

func TestRegisterVolunteer(t *testing.T) {
	w := newWorld(t)
	if err := w.volunteer("v1", "Swift Heron"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, handle string
		actor            Actor
		code             string
	}{
		{"TakenID", "v1", "other", ActorPublic, ECONFLICT},
		{"TakenHandle", "v2", "swift heron", ActorPublic, ECONFLICT},
		{"EmptyHandle", "v2", "", ActorPublic, EINVALID},
		{"PaddedHandle", "v2", " heron", ActorPublic, EINVALID},
		{"LongHandle", "v2", strings.Repeat("h", 41), ActorPublic, EINVALID},
		{"ControlChar", "v2", "he\nron", ActorPublic, EINVALID},
		{"ByDelegate", "v2", "heron", DelegateActor("d_m1"), EFORBIDDEN},
		{"Fine", "v2", "Grey Heron", ActorHub, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := w.apply(KindVolunteerRegistered, tc.actor, VolunteerGrant{
				Volunteer: Volunteer{ID: tc.id, Handle: tc.handle}, TokenHash: HashToken("x-" + tc.name)})
			wantCode(t, err, tc.code)
		})
	}
	v, ok := w.s.VolunteerByToken(HashToken("vtoken-v1"))
	if !ok || v.ID != "v1" || v.Handle != "Swift Heron" {
		t.Fatalf("VolunteerByToken = %+v, %v", v, ok)
	}
	doc, _ := w.s.Doc(Change{"volunteer", "v1"})
	if strings.Contains(string(doc), "token") || !strings.Contains(string(doc), `"handle":"Swift Heron"`) {
		t.Fatalf("volunteer document %s", doc)
	}
	// Volunteer data is strict: contact details cannot sneak into the ledger.
	ev := w.event(KindVolunteerRegistered, ActorPublic, map[string]any{"id": "v3", "handle": "x", "token_hash": "h3", "email": "a@b"})
	wantCode(t, w.s.Apply(ev), EINVALID)
}

// draw writes the task.assigned event the hub would, seeding from a made-up
// root of the current tree size.
func (w *world) draw(task string) (string, error) {
	seed := make([]byte, 32)
	copy(seed, []byte("root of "+string(rune('a'+w.s.Size()%26))))
	tk := w.s.tasks[task]
	win := DrawVolunteer(seed, task, tk.Candidates)
	return win, w.apply(KindTaskAssigned, ActorHub, TaskAssignment{task, win, hex.EncodeToString(seed), w.s.Size()})
}

func TestTaskLifecycle(t *testing.T) {
	w := newWorld(t)
	for _, v := range []string{"v1", "v2", "v3"} {
		if err := w.volunteer(v, "handle "+v); err != nil {
			t.Fatal(err)
		}
	}
	a := w.agree(terms("p1", "o1", "n1", 80_500))
	task := TaskID(a.ID)
	act := func(kind, v string) error {
		actor := ActorHub
		if v != "" {
			actor = VolunteerActor(v)
		}
		return w.apply(kind, actor, TaskRef{task})
	}
	if _, err := w.draw(task); ErrorCode(err) != ECONFLICT {
		t.Fatalf("draw with no candidates: %v", err)
	}
	for _, v := range []string{"v1", "v2", "v3"} {
		if err := act(KindTaskVolunteered, v); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, act(KindTaskVolunteered, "v1"), ECONFLICT)
	wantCode(t, act(KindTaskVolunteered, "nobody"), EFORBIDDEN)

	// The hub must name the rule's winner, from a seed that covers the last
	// volunteer's event.
	seed := strings.Repeat("ab", 32)
	raw, _ := hex.DecodeString(seed)
	win := DrawVolunteer(raw, task, []string{"v1", "v2", "v3"})
	loser := "v1"
	if win == "v1" {
		loser = "v2"
	}
	size := w.s.Size()
	bad := []struct {
		name string
		d    TaskAssignment
		code string
	}{
		{"NotTheWinner", TaskAssignment{task, loser, seed, size}, EINVALID},
		{"EarlierRoot", TaskAssignment{task, win, seed, size - 1}, ECONFLICT},
		{"SeedFromTheFuture", TaskAssignment{task, win, seed, size + 1}, ECONFLICT},
		{"ShortSeed", TaskAssignment{task, win, "abcd", size}, EINVALID},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			wantCode(t, w.apply(KindTaskAssigned, ActorHub, b.d), b.code)
		})
	}
	wantCode(t, w.apply(KindTaskAssigned, DelegateActor("d_m1"), TaskAssignment{task, win, seed, size}), EFORBIDDEN)
	w.must(KindTaskAssigned, ActorHub, TaskAssignment{task, win, seed, size})
	wantCode(t, act(KindTaskPickedUp, loser), EFORBIDDEN)
	wantCode(t, act(KindTaskDroppedOff, win), ECONFLICT)

	// The claim lapses: the task is open again without the lapsed volunteer.
	wantCode(t, act(KindTaskLapsed, win), EFORBIDDEN)
	w.must(KindTaskLapsed, ActorHub, TaskRef{task})
	tk, _ := w.s.Task(task)
	if tk.Status != TaskOpen || tk.Assignee != "" || len(tk.Candidates) != 2 || tk.Lapsed[0] != win {
		t.Fatalf("after lapse: %+v", tk)
	}
	wantCode(t, act(KindTaskVolunteered, win), ECONFLICT)

	second, err := w.draw(task)
	if err != nil {
		t.Fatal(err)
	}
	if second == win {
		t.Fatal("the lapsed volunteer was drawn again")
	}
	if err := act(KindTaskPickedUp, second); err != nil {
		t.Fatal(err)
	}
	// Receipt confirmed while on the way: the drop-off can still be recorded.
	w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 80_500})
	if err := act(KindTaskDroppedOff, second); err != nil {
		t.Fatal(err)
	}
	tk, _ = w.s.Task(task)
	if tk.Status != TaskDelivered || tk.PickedUpAt == nil || tk.DroppedOffAt == nil || tk.Assignee != second {
		t.Fatalf("delivered task = %+v", tk)
	}
	if got := w.s.Tasks(TaskDelivered); len(got) != 1 || got[0].ID != task {
		t.Fatalf("Tasks(delivered) = %+v", got)
	}
}

func TestTaskEndsWithAgreement(t *testing.T) {
	tests := []struct {
		name  string
		end   func(w *world, a Agreement)
		want  string
		claim bool // whether a volunteer had been assigned
	}{
		{"Cancelled", func(w *world, a Agreement) {
			w.must(KindAgreementCancelled, DelegateActor("d_m1"), AgreementCancellation{a.ID, CancelWithdrawn})
		}, TaskCancelled, true},
		{"ReceivedBeforePickup", func(w *world, a Agreement) {
			w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 1})
		}, TaskClosed, true},
		{"ReceivedWhileOpen", func(w *world, a Agreement) {
			w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 1})
		}, TaskClosed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			if err := w.volunteer("v1", "v1"); err != nil {
				t.Fatal(err)
			}
			a := w.agree(terms("p1", "o1", "n1", 80_500))
			task := TaskID(a.ID)
			if tc.claim {
				w.must(KindTaskVolunteered, VolunteerActor("v1"), TaskRef{task})
				if _, err := w.draw(task); err != nil {
					t.Fatal(err)
				}
			}
			tc.end(w, a)
			tk, _ := w.s.Task(task)
			if tk.Status != tc.want {
				t.Fatalf("task is %s, want %s", tk.Status, tc.want)
			}
			wantCode(t, w.apply(KindTaskPickedUp, VolunteerActor("v1"), TaskRef{task}), map[bool]string{true: ECONFLICT, false: EFORBIDDEN}[tc.claim])
			wantCode(t, w.apply(KindTaskVolunteered, VolunteerActor("v1"), TaskRef{task}), ECONFLICT)
		})
	}
}

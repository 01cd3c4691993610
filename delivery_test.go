package plenty

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

func (w *world) volunteer(id, handle string) error {
	return w.applyWith(KindVolunteerRegistered, ActorPublic, VolunteerRegistration{ID: id, Handle: handle},
		Credential{VolunteerActor(id), HashToken("vtoken-" + id)})
}

// vouched registers a volunteer the mill vouches for.
func (w *world) vouched(id string) {
	w.t.Helper()
	if err := w.volunteer(id, "handle "+id); err != nil {
		w.t.Fatal(err)
	}
	w.must(KindVolunteerVouched, DelegateActor("d_m1"), VolunteerVouch{Volunteer: id, Council: "c_mill"})
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
			err := w.applyWith(KindVolunteerRegistered, tc.actor, VolunteerRegistration{ID: tc.id, Handle: tc.handle},
				Credential{VolunteerActor(tc.id), HashToken("x-" + tc.name)})
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

// drawData returns the task.assigned data the hub would write as the next
// event, once the task's window has closed: the winner and the proof.
func (w *world) drawData(task string) TaskAssignment {
	tk := w.s.tasks[task]
	if next := w.now.Add(time.Minute); next.Before(tk.ClosesAt) {
		w.now = tk.ClosesAt.Add(-time.Minute)
	}
	closesAt, root, ok := w.s.DrawRoot(task, w.now.Add(time.Minute))
	if !ok {
		return TaskAssignment{Task: task}
	}
	proof, out := testDrawKey.Prove(DrawInput(task, closesAt))
	rootBytes, _ := hex.DecodeString(root)
	win := DrawVolunteer(DrawSeed(out, rootBytes), task, tk.Candidates)
	return TaskAssignment{Task: task, Volunteer: win, Proof: hex.EncodeToString(proof)}
}

// draw waits for the task's window to close and writes its draw.
func (w *world) draw(task string) (string, error) {
	d := w.drawData(task)
	return d.Volunteer, w.apply(KindTaskAssigned, ActorHub, d)
}

func TestTaskLifecycle(t *testing.T) {
	w := newWorld(t)
	for _, v := range []string{"v1", "v2", "v3"} {
		w.vouched(v)
	}
	if err := w.volunteer("v4", "not vouched"); err != nil {
		t.Fatal(err)
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
	if err := w.apply(KindTaskAssigned, ActorHub, TaskAssignment{task, "v1", hex.EncodeToString(make([]byte, 80))}); ErrorCode(err) != ECONFLICT {
		t.Fatalf("draw with no candidates, window open: %v", err)
	}
	for _, v := range []string{"v1", "v2", "v3"} {
		if err := act(KindTaskVolunteered, v); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, act(KindTaskVolunteered, "v1"), ECONFLICT)
	wantCode(t, act(KindTaskVolunteered, "nobody"), EFORBIDDEN)
	wantCode(t, act(KindTaskVolunteered, "v4"), ECONFLICT) // not vouched for

	// Before the window closes there is no draw.
	if d := (TaskAssignment{task, "v1", hex.EncodeToString(make([]byte, 80))}); true {
		wantCode(t, w.apply(KindTaskAssigned, ActorHub, d), ECONFLICT)
	}
	w.must(KindVolunteerVouched, DelegateActor("d_b1"), VolunteerVouch{Volunteer: "v4", Council: "c_bak"})
	// The hub must name the rule's winner, with a proof of its draw key.
	good := w.drawData(task)
	at := w.now // the next event is the first after the close
	win := good.Volunteer
	loser := "v1"
	if win == "v1" {
		loser = "v2"
	}
	otherKey, _ := NewVRFKey(DrawKeySeed([]byte("another hub")))
	tk0 := w.s.tasks[task]
	forged, _ := otherKey.Prove(DrawInput(task, tk0.ClosesAt))
	flipped, _ := hex.DecodeString(good.Proof)
	flipped[40] ^= 1
	bad := []struct {
		name string
		d    TaskAssignment
		code string
	}{
		{"NotTheWinner", TaskAssignment{task, loser, good.Proof}, EINVALID},
		{"OtherKeysProof", TaskAssignment{task, win, hex.EncodeToString(forged)}, EINVALID},
		{"TamperedProof", TaskAssignment{task, win, hex.EncodeToString(flipped)}, EINVALID},
		{"ShortProof", TaskAssignment{task, win, "abcd"}, EINVALID},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			w.now = at
			wantCode(t, w.apply(KindTaskAssigned, ActorHub, b.d), b.code)
		})
	}
	// A vouched volunteer joining late is refused: the candidates are final.
	w.now = at
	wantCode(t, act(KindTaskVolunteered, "v4"), ECONFLICT)
	w.now = at
	wantCode(t, w.apply(KindTaskAssigned, DelegateActor("d_m1"), good), EFORBIDDEN)
	w.now = at
	w.must(KindTaskAssigned, ActorHub, good)
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
			w.vouched("v1")
			a := w.agree(terms("p1", "o1", "n1", 80_500))
			task := TaskID(a.ID)
			if tc.claim {
				w.must(KindTaskVolunteered, VolunteerActor("v1"), TaskRef{task})
				if _, err := w.draw(task); err != nil {
					t.Fatal(err)
				}
			}
			tc.end(w, a)
			if got := statusOf(w.s, "task", task); got != tc.want {
				t.Fatalf("task is %s, want %s", got, tc.want)
			}
			// A cancelled agreement leaves the state with its task: a
			// pickup is refused as a conflict, whoever asks.
			code := map[bool]string{true: ECONFLICT, false: EFORBIDDEN}[tc.claim]
			if tc.want == TaskCancelled {
				code = ECONFLICT
			}
			wantCode(t, w.apply(KindTaskPickedUp, VolunteerActor("v1"), TaskRef{task}), code)
			wantCode(t, w.apply(KindTaskVolunteered, VolunteerActor("v1"), TaskRef{task}), ECONFLICT)
		})
	}
}

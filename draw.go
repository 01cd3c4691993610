package plenty

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// The lottery. A delivery task collects candidates while its window is
// open; the hub then draws one. Nobody can steer the draw (see
// docs/lottery.md for the threat model):
//
//   - only volunteers a council vouched for may join, and only before the
//     window closes (ClosesAt, fixed when the window opens): the fold
//     refuses a late join, so the candidates are frozen at the close;
//   - the first event at or after the close fixes the log the draw depends
//     on: the root of the tree of every event before it (CloseRoot);
//   - the seed is SHA-256 of the output of the hub's verifiable random
//     function (RFC 9381) over the task and its close, and of CloseRoot.
//     The function's output is unique to the hub's draw key, which terms.set
//     publishes once and for all, so the hub cannot choose among seeds;
//     nobody else can compute it before the hub reveals the proof, and the
//     hub itself cannot know the seed before the close, because CloseRoot
//     covers every event up to it;
//   - the fold checks the proof, the seed and the winner (DrawVolunteer),
//     so `plenty verify` checks every draw from the open data alone.

// TaskAssignment is the data of task.assigned, by the hub after the task's
// window closed: the winner, and the proof of the hub's verifiable random
// function over DrawInput(task, closes_at), in hex.
type TaskAssignment struct {
	Task      string `json:"task"`
	Volunteer string `json:"volunteer"`
	Proof     string `json:"proof"`
}

// DrawInput is what the hub's verifiable random function is evaluated on
// for a task's draw: the task and the close of its window.
func DrawInput(task string, closesAt time.Time) []byte {
	return []byte("plenty/draw/v1\n" + task + "\n" + closesAt.UTC().Format(TimeFormat))
}

// DrawSeed combines the function's output with the root of the log at the
// close.
func DrawSeed(output []byte, closeRoot []byte) []byte {
	h := sha256.New()
	h.Write([]byte("plenty/draw-seed/v1\x00"))
	h.Write(output)
	h.Write(closeRoot)
	return h.Sum(nil)
}

// DrawKeySeed derives the seed of a hub's draw key from the seed of its
// signing key, so that the hub keeps one secret; the two keys differ.
func DrawKeySeed(signingSeed []byte) []byte {
	h := sha256.New()
	h.Write([]byte("plenty/draw-key/v1\x00"))
	h.Write(signingSeed)
	return h.Sum(nil)
}

// windowsClosed is what closeWindows changed, so that a refused event can
// put it back exactly.
type windowsClosed struct {
	tasks   []*Task
	closing []string // the list before
}

// closeWindows closes the lottery windows that end at or before now, fixing
// their close size and root.
func (s *State) closeWindows(now time.Time) windowsClosed {
	var w windowsClosed
	for _, id := range s.closing {
		if t := s.tasks[id]; t == nil || t.Status != TaskOpen || t.CloseSize != 0 || !now.Before(t.ClosesAt) {
			w.closing = s.closing
			break
		}
	}
	if w.closing == nil {
		return w // nothing closes: the list stays as it is
	}
	var keep []string
	for _, id := range s.closing {
		t := s.tasks[id]
		switch {
		case t == nil || t.Status != TaskOpen || t.CloseSize != 0:
		case now.Before(t.ClosesAt):
			keep = append(keep, id)
		default:
			root := s.tree.Root()
			t.CloseSize, t.CloseRoot = s.size, hex.EncodeToString(root[:])
			w.tasks = append(w.tasks, t)
			s.touch("task", t.ID)
		}
	}
	s.closing = keep
	return w
}

// reopenWindows undoes closeWindows for an event that was refused.
func (s *State) reopenWindows(w windowsClosed) {
	if w.closing == nil {
		return
	}
	for _, t := range w.tasks {
		t.CloseSize, t.CloseRoot = 0, ""
	}
	s.closing = w.closing
}

// DrawRoot returns the root (hex) a draw of task at time now depends on: the
// close root once an event fixed it, or the root of the log as it stands
// when the draw is the first event after the close. ok is false while the
// window is open.
func (s *State) DrawRoot(task string, now time.Time) (closesAt time.Time, root string, ok bool) {
	t := s.tasks[task]
	if t == nil || t.Status != TaskOpen || now.Before(t.ClosesAt) {
		return time.Time{}, "", false
	}
	if t.CloseSize != 0 {
		return t.ClosesAt, t.CloseRoot, true
	}
	r := s.tree.Root()
	return t.ClosesAt, hex.EncodeToString(r[:]), true
}

func (s *State) registerVolunteer(ev Event, d VolunteerRegistration) error {
	switch {
	case ev.Actor != ActorHub && ev.Actor != ActorPublic:
		return Errorf(EFORBIDDEN, "%s may not register volunteers", ev.Actor)
	case d.ID == "":
		return Invalid("id", "is required")
	case !ValidHandle(d.Handle):
		return Invalid("handle", "must be 1 to 40 printable characters without leading or trailing spaces")
	case s.volunteers[d.ID] != nil:
		return Errorf(ECONFLICT, "volunteer id %q is taken", d.ID)
	case s.handles[strings.ToLower(d.Handle)] != "":
		return Errorf(ECONFLICT, "the handle %q is taken; choose another", d.Handle)
	}
	s.volunteers[d.ID] = &Volunteer{ID: d.ID, Handle: d.Handle, RegisteredAt: ev.Time, VouchedBy: []string{}}
	s.handles[strings.ToLower(d.Handle)] = d.ID
	s.touch("volunteer", d.ID)
	return nil
}

func (s *State) vouchVolunteer(ev Event, d VolunteerVouch) error {
	v := s.volunteers[d.Volunteer]
	switch {
	case v == nil:
		return Errorf(ENOTFOUND, "volunteer %s does not exist", d.Volunteer)
	case s.councils[d.Council] == nil:
		return Errorf(ENOTFOUND, "council %s does not exist", d.Council)
	}
	if err := s.authorize(ev, d.Council, ScopeAccept); err != nil {
		return err
	}
	for _, c := range v.VouchedBy {
		if c == d.Council {
			return Errorf(ECONFLICT, "council %s already vouched for volunteer %s", d.Council, v.ID)
		}
	}
	v.VouchedBy = append(v.VouchedBy, d.Council)
	s.touch("volunteer", v.ID)
	return nil
}

func (s *State) assignTask(ev Event, d TaskAssignment) error {
	if ev.Actor != ActorHub {
		return Errorf(EFORBIDDEN, "only the hub draws volunteers")
	}
	t := s.tasks[d.Task]
	if t == nil {
		return Errorf(ENOTFOUND, "task %s does not exist", d.Task)
	}
	switch {
	case t.Status != TaskOpen:
		return Errorf(ECONFLICT, "task %s is %s, not open", t.ID, t.Status)
	case t.CloseSize == 0:
		return Errorf(ECONFLICT, "task %s's lottery window runs until %s", t.ID, t.ClosesAt.Format(time.RFC3339))
	case len(t.Candidates) == 0:
		return Errorf(ECONFLICT, "task %s has no volunteers to draw from", t.ID)
	case s.terms.DrawKey == "":
		return Errorf(ECONFLICT, "the hub has published no draw key (terms.set draw_key); it cannot draw")
	}
	key, _ := hex.DecodeString(s.terms.DrawKey)
	proof, err := hex.DecodeString(d.Proof)
	if err != nil {
		return Invalid("proof", "must be the hex of an 80-byte RFC 9381 proof")
	}
	out, err := VerifyVRF(key, DrawInput(t.ID, t.ClosesAt), proof)
	if err != nil {
		return Errorf(EINVALID, "the draw's proof does not verify under the hub's draw key: %v", err)
	}
	root, _ := hex.DecodeString(t.CloseRoot)
	seed := DrawSeed(out, root)
	if win := DrawVolunteer(seed, t.ID, t.Candidates); d.Volunteer != win {
		return Errorf(EINVALID, "the published rule draws %s for task %s from this proof and the log at its close, not %s", win, t.ID, d.Volunteer)
	}
	at := ev.Time
	t.Status, t.Assignee, t.Seed, t.Proof, t.AssignedAt = TaskAssigned, d.Volunteer, hex.EncodeToString(seed), d.Proof, &at
	s.touch("task", t.ID)
	return nil
}

// checkDrawKey checks a draw key: the hex of a VRF public key.
func checkDrawKey(key string) error {
	b, err := hex.DecodeString(key)
	if err != nil || len(b) != 32 {
		return Invalid("draw_key", "must be the hex of a 32-byte RFC 9381 public key")
	}
	if _, err := vrfPublicKey(b); err != nil {
		return Invalid("draw_key", "is not a usable public key: "+err.Error())
	}
	return nil
}

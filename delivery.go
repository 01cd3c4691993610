package plenty

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// VolunteerGrant is a volunteer as registered, with the hash of its token
// (HashToken). It is the data of a volunteer.registered event, written by
// the hub or the public. Contact details are never part of it: they stay in
// the hub's private store and never reach the ledger or an export.
type VolunteerGrant struct {
	Volunteer
	TokenHash string `json:"token_hash"`
}

// MaxHandleLen bounds a volunteer's handle, in characters.
const MaxHandleLen = 40

// ValidHandle reports whether h is a usable pseudonymous handle: 1 to 40
// printable characters, no leading or trailing space.
func ValidHandle(h string) bool {
	if h == "" || utf8.RuneCountInString(h) > MaxHandleLen || strings.TrimSpace(h) != h || !utf8.ValidString(h) {
		return false
	}
	for _, r := range h {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// TaskRef is the data of task.lapsed events, and of task.volunteered,
// task.picked_up and task.dropped_off, whose volunteer is the event's
// actor ("volunteer:ID").
type TaskRef struct {
	Task string `json:"task"`
}

// TaskAssignment is the data of a task.assigned event, written by the hub
// after the task's lottery window (Terms) closed: Volunteer is
// DrawVolunteer(seed, Task, candidates), where seed is the root hash (hex)
// of the tree of every event before this one: TreeSize is the event's own
// seq, so the hub cannot choose among earlier roots. The fold checks the
// rule, the window and the size; the ledger checks the seed against its
// tree when it appends the event, and plenty check again.
type TaskAssignment struct {
	Task      string `json:"task"`
	Volunteer string `json:"volunteer"`
	Seed      string `json:"seed"`
	TreeSize  int64  `json:"tree_size"`
}

// Task status.
const (
	TaskOpen      = "open"      // collecting volunteers for the draw
	TaskAssigned  = "assigned"  // a volunteer was drawn; not yet picked up
	TaskPickedUp  = "picked_up" // on its way
	TaskDelivered = "delivered" // dropped off at the need's location
	TaskClosed    = "closed"    // receipt was confirmed before a drop-off
	TaskCancelled = "cancelled" // its agreement was cancelled
)

// Task is the delivery leg of an agreement: from the offer's location to
// the need's. Volunteers offer to carry it while it is open; the hub then
// draws one by lottery. A claim not picked up in time lapses and the task
// opens again, without the lapsed volunteer among its candidates.
type Task struct {
	ID           string     `json:"id"`
	Agreement    string     `json:"agreement"`
	Item         string     `json:"item"`
	Quantity     Amount     `json:"quantity"`
	From         Location   `json:"from"`
	To           Location   `json:"to"`
	DistanceKm   float64    `json:"distance_km"`
	Status       string     `json:"status"`
	OpenedAt     time.Time  `json:"opened_at"` // when it last opened to volunteers
	Candidates   []string   `json:"candidates"`
	Lapsed       []string   `json:"lapsed,omitempty"`
	Assignee     string     `json:"assignee,omitempty"`
	Seed         string     `json:"seed,omitempty"`
	SeedSize     int64      `json:"seed_tree_size,omitempty"`
	AssignedAt   *time.Time `json:"assigned_at,omitempty"`
	PickedUpAt   *time.Time `json:"picked_up_at,omitempty"`
	DroppedOffAt *time.Time `json:"dropped_off_at,omitempty"`
}

func (t *Task) copy() Task {
	c := *t
	c.Candidates = append([]string{}, t.Candidates...)
	c.Lapsed = append([]string(nil), t.Lapsed...)
	for _, p := range []**time.Time{&c.AssignedAt, &c.PickedUpAt, &c.DroppedOffAt} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return c
}

// TaskID is the id of an agreement's delivery task.
func TaskID(agreement string) string { return "tk_" + shortHash("task", agreement) }

// VolunteerActor returns the actor string of a volunteer.
func VolunteerActor(id string) Actor { return "volunteer:" + id }

// DrawVolunteer is the lottery's published rule: among candidates, the
// winner is the one whose SHA-256(seed ‖ taskID ‖ 0x00 ‖ volunteerID) is
// smallest as a big-endian number, ties (which SHA-256 makes practically
// impossible) going to the smaller id. seed is the raw root hash of the
// signed checkpoint the hub draws from, which did not exist before the
// task's last volunteer joined, so nobody could steer the draw. It returns
// "" when there is no candidate. Anyone holding the open data can run it.
func DrawVolunteer(seed []byte, taskID string, candidates []string) string {
	var best string
	var bestSum [sha256.Size]byte
	for _, v := range candidates {
		h := sha256.New()
		h.Write(seed)
		h.Write([]byte(taskID))
		h.Write([]byte{0})
		h.Write([]byte(v))
		var sum [sha256.Size]byte
		h.Sum(sum[:0])
		if c := bytes.Compare(sum[:], bestSum[:]); best == "" || c < 0 || (c == 0 && v < best) {
			best, bestSum = v, sum
		}
	}
	return best
}

func (s *State) registerVolunteer(ev Event, g VolunteerGrant) error {
	v := g.Volunteer
	switch {
	case ev.Actor != ActorHub && ev.Actor != ActorPublic:
		return Errorf(EFORBIDDEN, "%s may not register volunteers", ev.Actor)
	case v.ID == "" || s.volunteers[v.ID] != nil:
		return Errorf(ECONFLICT, "volunteer id %q is empty or taken", v.ID)
	case !ValidHandle(v.Handle):
		return Invalid("handle", "must be 1 to 40 printable characters without leading or trailing spaces")
	case s.handles[strings.ToLower(v.Handle)] != "":
		return Errorf(ECONFLICT, "the handle %q is taken; choose another", v.Handle)
	case g.TokenHash == "" || s.volunteerTokens[g.TokenHash] != "" || s.byToken[g.TokenHash] != "":
		return Errorf(ECONFLICT, "volunteer %s: token hash is empty or taken", v.ID)
	}
	v.TokenHash = g.TokenHash
	s.volunteers[v.ID] = &v
	s.volunteerTokens[v.TokenHash] = v.ID
	s.handles[strings.ToLower(v.Handle)] = v.ID
	s.touch("volunteer", v.ID)
	return nil
}

func (s *State) openTask(ev Event, a *Agreement, o *Offer, n *Need) {
	t := &Task{ID: TaskID(a.ID), Agreement: a.ID, Item: a.Item, Quantity: a.Quantity,
		From: o.Location, To: n.Location, DistanceKm: a.DistanceKm, Status: TaskOpen,
		OpenedAt: ev.Time, Candidates: []string{}}
	s.tasks[t.ID] = t
	s.touch("task", t.ID)
}

// endTask closes an agreement's task when the agreement ends; a delivered
// task stays delivered, and one on its way may still be dropped off after
// receipt was confirmed.
func (s *State) endTask(agreement, status string) {
	t := s.tasks[TaskID(agreement)]
	if t == nil || t.Status == TaskDelivered || (status == TaskClosed && t.Status == TaskPickedUp) {
		return
	}
	t.Status = status
	s.touch("task", t.ID)
}

func (s *State) actingVolunteer(ev Event) (string, error) {
	id, ok := strings.CutPrefix(ev.Actor, "volunteer:")
	if !ok || s.volunteers[id] == nil {
		return "", Errorf(EFORBIDDEN, "only a registered volunteer may do this, not %s", ev.Actor)
	}
	return id, nil
}

func (s *State) taskEvent(ev Event, ref TaskRef) error {
	t := s.tasks[ref.Task]
	if t == nil {
		return Errorf(ENOTFOUND, "task %s does not exist", ref.Task)
	}
	if ev.Kind == KindTaskLapsed {
		if ev.Actor != ActorHub {
			return Errorf(EFORBIDDEN, "only the hub records a lapsed claim")
		}
		if t.Status != TaskAssigned {
			return Errorf(ECONFLICT, "task %s is %s, not assigned", t.ID, t.Status)
		}
		if !s.claimLapsed(t, ev.Time) {
			return Errorf(ECONFLICT, "task %s's claim runs until %s (claim window %s)", t.ID,
				t.AssignedAt.Add(s.terms.ClaimWindow).Format(time.RFC3339), s.terms.ClaimWindow)
		}
		t.Lapsed = append(t.Lapsed, t.Assignee)
		t.Candidates = remove(t.Candidates, t.Assignee)
		t.Assignee, t.Seed, t.SeedSize, t.AssignedAt = "", "", 0, nil
		t.Status = TaskOpen
		t.OpenedAt = ev.Time
		s.touch("task", t.ID)
		return nil
	}
	vol, err := s.actingVolunteer(ev)
	if err != nil {
		return err
	}
	at := ev.Time
	switch ev.Kind {
	case KindTaskVolunteered:
		switch {
		case t.Status != TaskOpen:
			return Errorf(ECONFLICT, "task %s is %s, no longer open to volunteers", t.ID, t.Status)
		case slices.Contains(t.Candidates, vol):
			return Errorf(ECONFLICT, "volunteer %s already offered to carry task %s", vol, t.ID)
		case slices.Contains(t.Lapsed, vol):
			return Errorf(ECONFLICT, "volunteer %s's claim on task %s lapsed; it goes to someone else", vol, t.ID)
		}
		t.Candidates = append(t.Candidates, vol)
	case KindTaskPickedUp, KindTaskDroppedOff:
		want, next := TaskAssigned, TaskPickedUp
		if ev.Kind == KindTaskDroppedOff {
			want, next = TaskPickedUp, TaskDelivered
		}
		if t.Assignee != vol {
			return Errorf(EFORBIDDEN, "task %s is not assigned to volunteer %s", t.ID, vol)
		}
		if t.Status != want {
			return Errorf(ECONFLICT, "task %s is %s, not %s", t.ID, t.Status, want)
		}
		t.Status = next
		if next == TaskPickedUp {
			t.PickedUpAt = &at
		} else {
			t.DroppedOffAt = &at
		}
	}
	s.touch("task", t.ID)
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
	seed, err := hex.DecodeString(d.Seed)
	switch {
	case t.Status != TaskOpen:
		return Errorf(ECONFLICT, "task %s is %s, not open", t.ID, t.Status)
	case len(t.Candidates) == 0:
		return Errorf(ECONFLICT, "task %s has no volunteers to draw from", t.ID)
	case err != nil || len(seed) != sha256.Size:
		return Invalid("seed", "must be a checkpoint root hash: 64 hexadecimal digits")
	case d.TreeSize != s.size:
		return Errorf(ECONFLICT, "the seed must be the root of the tree of every event before the draw, size %d, not %d", s.size, d.TreeSize)
	case !s.drawDue(t, ev.Time):
		return Errorf(ECONFLICT, "task %s's lottery window runs until %s (window %s)", t.ID,
			t.OpenedAt.Add(s.terms.LotteryWindow).Format(time.RFC3339), s.terms.LotteryWindow)
	}
	if win := DrawVolunteer(seed, t.ID, t.Candidates); d.Volunteer != win {
		return Errorf(EINVALID, "the published rule draws %s for task %s from this seed, not %s", win, t.ID, d.Volunteer)
	}
	at := ev.Time
	t.Status, t.Assignee, t.Seed, t.SeedSize, t.AssignedAt = TaskAssigned, d.Volunteer, d.Seed, d.TreeSize, &at
	s.touch("task", t.ID)
	return nil
}

func remove(xs []string, x string) []string {
	out := make([]string, 0, len(xs))
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

// Volunteer returns the volunteer with the given id, its token hash
// included.
func (s *State) Volunteer(id string) (Volunteer, bool) {
	v := s.volunteers[id]
	if v == nil {
		return Volunteer{}, false
	}
	return *v, true
}

// VolunteerByToken returns the volunteer whose token hashes to hash.
func (s *State) VolunteerByToken(hash string) (Volunteer, bool) {
	return s.Volunteer(s.volunteerTokens[hash])
}

// Volunteers returns every volunteer, ordered by id.
func (s *State) Volunteers() []Volunteer {
	return sorted(s.volunteers, func(v *Volunteer) Volunteer { return *v })
}

// Task returns the task with the given id.
func (s *State) Task(id string) (Task, bool) {
	t := s.tasks[id]
	if t == nil {
		return Task{}, false
	}
	return t.copy(), true
}

// Tasks returns the tasks with the given status (every task when status is
// empty), ordered by id.
func (s *State) Tasks(status string) []Task {
	var out []Task
	for _, id := range sortedKeys(s.tasks) {
		if t := s.tasks[id]; status == "" || t.Status == status {
			out = append(out, t.copy())
		}
	}
	return out
}

// Acceptances returns every proposal decided on so far, ordered by
// proposal id.
func (s *State) Acceptances() []Acceptance {
	return sorted(s.acceptances, (*Acceptance).copy)
}

package plenty

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

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
	ID         string    `json:"id"`
	Agreement  string    `json:"agreement"`
	Item       string    `json:"item"`
	Quantity   Amount    `json:"quantity"`
	From       Location  `json:"from"`
	To         Location  `json:"to"`
	DistanceKm float64   `json:"distance_km"`
	Status     string    `json:"status"`
	OpenedAt   time.Time `json:"opened_at"` // when it last opened to volunteers
	// ClosesAt ends the lottery window that opened at OpenedAt, by the
	// terms in force then: volunteers join before it, the draw comes after.
	ClosesAt time.Time `json:"closes_at"`
	// CloseSize is the number of events before the first event at or after
	// ClosesAt, and CloseRoot the root of their tree (hex): the log as it
	// stood when the window closed, which the draw's seed depends on.
	CloseSize    int64      `json:"close_size,omitempty"`
	CloseRoot    string     `json:"close_root,omitempty"`
	Candidates   []string   `json:"candidates"`
	Lapsed       []string   `json:"lapsed,omitempty"`
	Assignee     string     `json:"assignee,omitempty"`
	Seed         string     `json:"seed,omitempty"`
	Proof        string     `json:"proof,omitempty"`
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
// impossible) going to the smaller id. seed is DrawSeed of the hub's
// verifiable random function and the log at the window's close (draw.go).
// It returns "" when there is no candidate. Anyone holding the open data
// can run it.
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

func (s *State) openTask(ev Event, a *Agreement, o *Offer, n *Need) {
	t := &Task{ID: TaskID(a.ID), Agreement: a.ID, Item: a.Item, Quantity: a.Quantity,
		From: o.Location, To: n.Location, DistanceKm: a.DistanceKm, Candidates: []string{}}
	s.tasks[t.ID] = t
	s.index.add("task", t.ID)
	s.reopen(t, ev.Time)
}

// reopen opens a task's lottery window at now, closing by the terms in
// force.
func (s *State) reopen(t *Task, now time.Time) {
	t.Status, t.OpenedAt, t.ClosesAt = TaskOpen, now, now.Add(s.terms.LotteryWindow)
	t.CloseSize, t.CloseRoot = 0, ""
	s.closing = append(s.closing, t.ID)
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
		if g, ok := s.goneAsOf(ref.Task, "task"); ok {
			return Errorf(ECONFLICT, "task %s is %s and closed", ref.Task, g.Status)
		}
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
			due, _ := s.ClaimDue(*t)
			return Errorf(ECONFLICT, "task %s's claim runs until %s", t.ID, due.Format(time.RFC3339))
		}
		t.Lapsed = append(t.Lapsed, t.Assignee)
		t.Candidates = remove(t.Candidates, t.Assignee)
		t.Assignee, t.Seed, t.Proof, t.AssignedAt = "", "", "", nil
		s.reopen(t, ev.Time)
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
		case !ev.Time.Before(t.ClosesAt):
			return Errorf(ECONFLICT, "task %s's lottery window closed at %s; its candidates are final", t.ID, t.ClosesAt.Format(time.RFC3339))
		case len(s.volunteers[vol].VouchedBy) == 0:
			return Errorf(ECONFLICT, "volunteer %s is not vouched for by any council; a council's delegate vouches with POST /api/v1/volunteers/%s/vouch", vol, vol)
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
			s.tally.Delivered[vol]++
		}
	}
	s.touch("task", t.ID)
	if a := s.agreements[t.Agreement]; a != nil && s.lingering[a.ID] && taskEnded(t) {
		s.retire(a)
	}
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
	c := *v
	c.VouchedBy = append([]string{}, v.VouchedBy...)
	return c, true
}

// VolunteerByHandle returns the volunteer with the handle, compared
// ignoring case.
func (s *State) VolunteerByHandle(handle string) (Volunteer, bool) {
	return s.Volunteer(s.handles[strings.ToLower(handle)])
}

// VolunteerByToken returns the volunteer whose token hashes to hash.
func (s *State) VolunteerByToken(hash string) (Volunteer, bool) {
	id, ok := strings.CutPrefix(s.credentials[hash], "volunteer:")
	if !ok {
		return Volunteer{}, false
	}
	return s.Volunteer(id)
}

// Volunteers returns every volunteer, ordered by id.
func (s *State) Volunteers() []Volunteer {
	return sorted(s.volunteers, func(v *Volunteer) Volunteer {
		c := *v
		c.VouchedBy = append([]string{}, v.VouchedBy...)
		return c
	})
}

// Task returns the task with the given id, if the state holds it (see
// Agreement).
func (s *State) Task(id string) (Task, bool) {
	t := held(s, s.tasks[id], "task", id)
	if t == nil {
		return Task{}, false
	}
	return t.copy(), true
}

// Tasks returns the live tasks with the given status (every one when
// status is empty), ordered by id.
func (s *State) Tasks(status string) []Task {
	var out []Task
	s.index.tasks.after("", func(id string) bool {
		if t := s.tasks[id]; status == "" || t.Status == status {
			out = append(out, t.copy())
		}
		return true
	})
	return out
}

// Acceptances returns every proposal decided on so far, ordered by
// proposal id.
func (s *State) Acceptances() []Acceptance {
	return sorted(s.acceptances, (*Acceptance).copy)
}

// TasksAfter returns up to n tasks the state holds (see Task) with ids
// after after that keep returns true for, ordered by id.
func (s *State) TasksAfter(after string, n int, keep func(Task) bool) []Task {
	var out []Task
	if n <= 0 {
		return out
	}
	s.index.tasks.after(after, func(id string) bool {
		if t := s.tasks[id]; t != nil && (keep == nil || keep(*t)) {
			out = append(out, t.copy())
		}
		return len(out) < n
	})
	// Those that ended a moment ago wait for the store beside the live
	// ones: a reader finds them in one or the other.
	for _, t := range closedOf[Task](s.closedDocs, "task") {
		if t.ID > after && (keep == nil || keep(*t)) {
			out = append(out, t.copy())
		}
	}
	slices.SortFunc(out, func(a, b Task) int { return strings.Compare(a.ID, b.ID) })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

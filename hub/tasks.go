package hub

import (
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// taskStatuses are the statuses GET /api/v1/tasks filters by.
var taskStatuses = []string{plenty.TaskOpen, plenty.TaskAssigned, plenty.TaskPickedUp, plenty.TaskDelivered, plenty.TaskClosed, plenty.TaskCancelled}

// councilRef names a council where a task starts or ends.
type councilRef struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Place string `json:"place"`
}

// taskView is a task with what a volunteer needs to decide and to plan:
// the unit, the two councils and their places, when the draw is, and by
// when the goods must be picked up. Pickup and drop-off details (address,
// hours, whom to ask for) are private: the drawn volunteer reads them in
// the agreement's thread.
type taskView struct {
	plenty.Task
	Unit     string     `json:"unit"`
	Provider councilRef `json:"provider"`
	Receiver councilRef `json:"receiver"`
	// DrawAt is when the lottery draws, while the task is open.
	DrawAt *time.Time `json:"draw_at,omitempty"`
	// PickupBy is when the claim lapses once drawn; while open, when the
	// agreement expires unless picked up.
	PickupBy *time.Time `json:"pickup_by,omitempty"`
}

func viewTask(st *plenty.State, t plenty.Task) taskView {
	v := taskView{Task: t}
	it, _ := st.Item(t.Item)
	v.Unit = it.Unit
	a, _ := st.Agreement(t.Agreement)
	ref := func(id string) councilRef {
		c, _ := st.Council(id)
		return councilRef{ID: id, Name: c.Name, Place: c.Place}
	}
	v.Provider, v.Receiver = ref(a.Provider), ref(a.Receiver)
	_, ok := st.Terms()
	if !ok {
		return v
	}
	switch t.Status {
	case plenty.TaskOpen:
		draw, by := t.ClosesAt, st.AgreementDue(a)
		v.DrawAt, v.PickupBy = &draw, &by
	case plenty.TaskAssigned:
		if by, ok := st.ClaimDue(t); ok {
			v.PickupBy = &by
		}
	}
	return v
}

// listTasks lists the tasks, by status; with ?volunteer=me and a
// volunteer's token, only those the volunteer offered to carry or was
// drawn for.
func (s *Server) listTasks(c *fiber.Ctx) error {
	status := c.Query("status")
	if status != "" && !slices.Contains(taskStatuses, status) {
		return plenty.Invalid("status", "must be one of "+strings.Join(taskStatuses, ", "))
	}
	var mine string
	switch q := c.Query("volunteer"); q {
	case "":
	case "me":
		token, err := bearerToken(c, "volunteer")
		if err != nil {
			return err
		}
		v, err := s.volunteerByToken(token)
		if err != nil {
			return err
		}
		mine = v.ID
	default:
		return plenty.Invalid("volunteer", "must be \"me\", with the volunteer's token")
	}
	out := []taskView{}
	s.read(func(st *plenty.State) error {
		for _, t := range st.Tasks(status) {
			if mine == "" || t.Assignee == mine || slices.Contains(t.Candidates, mine) {
				out = append(out, viewTask(st, t))
			}
		}
		return nil
	})
	return c.JSON(fiber.Map{"tasks": out})
}

func (s *Server) getTask(c *fiber.Ctx) error {
	id := c.Params("id")
	var (
		v  taskView
		ok bool
	)
	s.read(func(st *plenty.State) error {
		var t plenty.Task
		if t, ok = st.Task(id); ok {
			v = viewTask(st, t)
		}
		return nil
	})
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "task %s does not exist", id)
	}
	return c.JSON(fiber.Map{"task": v})
}

func (s *Server) actOnTask(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token, err := bearerToken(c, "volunteer")
		if err != nil {
			return err
		}
		v, err := s.volunteerByToken(token)
		if err != nil {
			return err
		}
		t, err := usecase.ActOnTask(c.UserContext(), s.env(), v, c.Params("id"), action, requestKey(c))
		if err != nil {
			return err
		}
		var out taskView
		s.read(func(st *plenty.State) error { out = viewTask(st, t); return nil })
		return c.JSON(fiber.Map{"task": out})
	}
}

package hub

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/ledger"
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

// viewTask describes t, whose agreement is a, in the state st.
func viewTask(st *plenty.State, t plenty.Task, a plenty.Agreement) taskView {
	v := taskView{Task: t}
	it, _ := st.Item(t.Item)
	v.Unit = it.Unit
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
	f := ledger.TaskFilter{Status: status, Volunteer: mine, After: c.Query("cursor"), Limit: 100}
	if q := c.Query("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > 1000 {
			return plenty.Invalid("limit", "must be a whole number from 1 to 1000")
		}
		f.Limit = n
	}
	page, more, err := s.ledger.ListTasks(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := make([]taskView, len(page))
	for i, t := range page {
		if out[i], err = s.viewTask(c.UserContext(), t); err != nil {
			return err
		}
	}
	res := fiber.Map{"tasks": out}
	if more {
		res["next_cursor"] = page[len(page)-1].ID
	}
	return c.JSON(res)
}

// viewTask describes t, reading its agreement, under way or finished.
func (s *Server) viewTask(ctx context.Context, t plenty.Task) (taskView, error) {
	a, err := s.ledger.Agreement(ctx, t.Agreement)
	if err != nil {
		return taskView{}, err
	}
	var v taskView
	s.read(func(st *plenty.State) error { v = viewTask(st, t, a); return nil })
	return v, nil
}

func (s *Server) getTask(c *fiber.Ctx) error {
	t, err := s.ledger.Task(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	v, err := s.viewTask(c.UserContext(), t)
	if err != nil {
		return err
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
		out, err := s.viewTask(c.UserContext(), t)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"task": out})
	}
}

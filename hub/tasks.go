package hub

import (
	"context"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

// taskStatuses are the statuses GET /api/v1/tasks filters by.
var taskStatuses = []string{plenty.TaskOpen, plenty.TaskAssigned, plenty.TaskPickedUp, plenty.TaskDelivered, plenty.TaskClosed, plenty.TaskCancelled}

func (s *Server) listTasks(c *fiber.Ctx) error {
	status := c.Query("status")
	if status != "" && !slices.Contains(taskStatuses, status) {
		return plenty.Invalid("status", "must be one of "+strings.Join(taskStatuses, ", "))
	}
	out := []taskView{}
	s.read(func(st *plenty.State) error {
		for _, t := range st.Tasks(status) {
			out = append(out, viewTask(st, t))
		}
		return nil
	})
	return c.JSON(fiber.Map{"tasks": out})
}

func (s *Server) getTask(c *fiber.Ctx) error {
	id := c.Params("id")
	var (
		t  taskView
		ok bool
	)
	s.read(func(st *plenty.State) error {
		var task plenty.Task
		task, ok = st.Task(id)
		t = viewTask(st, task)
		return nil
	})
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "task %s does not exist", id)
	}
	return c.JSON(fiber.Map{"task": t})
}

// taskView is a task with the unit its quantity is counted in.
type taskView struct {
	plenty.Task
	Unit string `json:"unit"`
}

func viewTask(st *plenty.State, t plenty.Task) taskView {
	it, _ := st.Item(t.Item)
	return taskView{Task: t, Unit: it.Unit}
}

// taskActions maps what a volunteer does to a task to its event kind.
var taskActions = map[string]string{
	"volunteer": plenty.KindTaskVolunteered,
	"pickup":    plenty.KindTaskPickedUp,
	"dropoff":   plenty.KindTaskDroppedOff,
}

// taskAct records that volunteer v offers to carry ("volunteer"), picks up
// ("pickup") or drops off ("dropoff") a task.
func (s *Server) taskAct(ctx context.Context, v plenty.Volunteer, task, action string) (plenty.Task, error) {
	kind, ok := taskActions[action]
	if !ok {
		return plenty.Task{}, plenty.Invalid("action", "must be volunteer, pickup or dropoff")
	}
	if _, _, err := s.write(ctx, kind, plenty.VolunteerActor(v.ID), plenty.TaskRef{Task: task}); err != nil {
		return plenty.Task{}, err
	}
	var t plenty.Task
	s.read(func(st *plenty.State) error { t, _ = st.Task(task); return nil })
	return t, nil
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
		ctx, err := idempotent(c)
		if err != nil {
			return err
		}
		t, err := s.taskAct(ctx, v, c.Params("id"), action)
		if err != nil {
			return err
		}
		var out taskView
		s.read(func(st *plenty.State) error { out = viewTask(st, t); return nil })
		return c.JSON(fiber.Map{"task": out})
	}
}

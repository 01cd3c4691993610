package hub

import (
	"crypto/subtle"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// volunteerView is a volunteer as registration answers it: the token is
// shown once and never again.
type volunteerView struct {
	plenty.Volunteer
	Token string `json:"token,omitempty"`
}

// contacts keeps volunteers' optional contact details in the data folder's
// private/ folder (mode 0700), one JSON line per volunteer, synced after
// the volunteer is recorded. They never reach the ledger or the open data.
type contacts struct {
	mu  sync.Mutex
	dir string
}

func (c *contacts) add(volunteer, contact string, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(c.dir, "contacts.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(map[string]any{"volunteer": volunteer, "contact": contact, "at": at})
	if _, err = f.Write(append(line, '\n')); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Server) registerVolunteer(c *fiber.Ctx) error {
	var in usecase.Volunteer
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	v, token, err := usecase.RegisterVolunteer(c.UserContext(), s.env(), in, requestKey(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"volunteer": volunteerView{v, token}})
}

// volunteerByToken returns the volunteer whose token this is:
// EUNAUTHORIZED when none, ERATELIMIT when it wrote too much.
func (s *Server) volunteerByToken(token string) (plenty.Volunteer, error) {
	hash := plenty.HashToken(strings.TrimSpace(token))
	var v plenty.Volunteer
	var found bool
	s.read(func(st *plenty.State) error { v, found = st.VolunteerByToken(hash); return nil })
	if !found || subtle.ConstantTimeCompare([]byte(hash), []byte(v.TokenHash)) != 1 {
		return plenty.Volunteer{}, plenty.Errorf(plenty.EUNAUTHORIZED, "the token is not a volunteer's; register with POST /api/v1/volunteers")
	}
	if wait, ok := s.tokenLimit.allow(hash); !ok {
		return plenty.Volunteer{}, &rateLimited{retryAfter: wait,
			err: plenty.Errorf(plenty.ERATELIMIT, "this volunteer sent more than %g writes per second; retry after %d s", s.cfg.WriteRate, wait)}
	}
	return v, nil
}

// vouchVolunteer records that the delegate's council vouches for a
// volunteer, who may then offer to carry deliveries. The vouch is public:
// it names the council and the volunteer's handle, never a person.
func (s *Server) vouchVolunteer(c *fiber.Ctx) error {
	d, err := s.mandate(c, "", plenty.ScopeAccept)
	if err != nil {
		return err
	}
	v, err := usecase.Vouch(c.UserContext(), s.env(), d, c.Params("id"), requestKey(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"volunteer": volunteerView{v, ""}})
}

package hub

import (
	"sort"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// agreementView is an agreement with the unit its quantities are counted
// in, what the receiver confirmed so far, and its delivery task.
type agreementView struct {
	plenty.Agreement
	Unit       string        `json:"unit"`
	Received   plenty.Amount `json:"received"`
	Task       string        `json:"task,omitempty"`
	TaskStatus string        `json:"task_status,omitempty"`
}

func (s *Server) viewAgreement(st *plenty.State, a plenty.Agreement) agreementView {
	it, _ := st.Item(a.Item)
	v := agreementView{Agreement: a, Unit: it.Unit, Received: st.AgreementReceived(a.ID)}
	if t, ok := st.Task(plenty.TaskID(a.ID)); ok {
		v.Task, v.TaskStatus = t.ID, t.Status
	}
	return v
}

// agreementsOf returns the agreements council is party to (all when ""),
// newest first.
func (s *Server) agreementsOf(council string) []agreementView {
	out := []agreementView{}
	s.read(func(st *plenty.State) error {
		for _, a := range st.Agreements() {
			if council == "" || a.Provider == council || a.Receiver == council {
				out = append(out, s.viewAgreement(st, a))
			}
		}
		return nil
	})
	// Agreement ids hash their proposal, so the order of ids says nothing
	// of time: sort by when each formed, the newest first, ties by id.
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].FormedAt.Equal(out[j].FormedAt) {
			return out[i].FormedAt.After(out[j].FormedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (s *Server) listAgreements(c *fiber.Ctx) error {
	council := c.Query("council")
	if council != "" {
		if err := s.councilExists(council); err != nil {
			return err
		}
	}
	return c.JSON(fiber.Map{"agreements": s.agreementsOf(council)})
}

func (s *Server) getAgreement(c *fiber.Ctx) error {
	id := c.Params("id")
	var (
		v  agreementView
		ok bool
	)
	s.read(func(st *plenty.State) error {
		var a plenty.Agreement
		if a, ok = st.Agreement(id); ok {
			v = s.viewAgreement(st, a)
		}
		return nil
	})
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "agreement %s does not exist", id)
	}
	return c.JSON(fiber.Map{"agreement": v})
}

// transferView is a transfer with the unit its quantity is counted in.
type transferView struct {
	plenty.Transfer
	Unit string `json:"unit"`
}

func (s *Server) viewTransfer(tr plenty.Transfer) transferView {
	v := transferView{Transfer: tr}
	s.read(func(st *plenty.State) error { it, _ := st.Item(tr.Item); v.Unit = it.Unit; return nil })
	return v
}

func (s *Server) transfer(id string) plenty.Transfer {
	var tr plenty.Transfer
	s.read(func(st *plenty.State) error { tr, _ = st.Transfer(id); return nil })
	return tr
}

// agreementFor reads an agreement and authenticates a delegate of its
// receiving council (or of either party, when anyParty) with the accept
// scope.
func (s *Server) agreementFor(c *fiber.Ctx, anyParty bool) (plenty.Agreement, plenty.Delegate, error) {
	id := c.Params("id")
	var (
		a  plenty.Agreement
		ok bool
	)
	s.read(func(st *plenty.State) error { a, ok = st.Agreement(id); return nil })
	if !ok {
		return a, plenty.Delegate{}, plenty.Errorf(plenty.ENOTFOUND, "agreement %s does not exist", id)
	}
	d, err := s.mandate(c, "", plenty.ScopeAccept)
	if err != nil {
		return a, d, err
	}
	switch {
	case d.Council == a.Receiver, anyParty && d.Council == a.Provider:
		return a, d, nil
	case anyParty:
		return a, d, plenty.Errorf(plenty.EFORBIDDEN, "delegate %s's council %s is not party to agreement %s", d.ID, d.Council, a.ID)
	}
	return a, d, plenty.Errorf(plenty.EFORBIDDEN, "only the receiving council %s confirms receipt of agreement %s", a.Receiver, a.ID)
}

func (s *Server) postReceipt(c *fiber.Ctx) error {
	a, d, err := s.agreementFor(c, false)
	if err != nil {
		return err
	}
	in, err := readReceipt(c)
	if err != nil {
		return err
	}
	tr, err := usecase.ConfirmReceipt(c.UserContext(), s.env(), d, a, in, requestKey(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"transfer": s.viewTransfer(tr)})
}

// readReceipt reads a receipt's or a correction's body.
func readReceipt(c *fiber.Ctx) (usecase.Receipt, error) {
	var in usecase.Receipt
	err := decodeBody(c, &in)
	return in, err
}

// cancelAgreement withdraws an active agreement, by a delegate of either
// party: both reservations are released.
func (s *Server) cancelAgreement(c *fiber.Ctx) error {
	a, d, err := s.agreementFor(c, true)
	if err != nil {
		return err
	}
	if _, err := usecase.CancelAgreement(c.UserContext(), s.env(), d, a, requestKey(c)); err != nil {
		return err
	}
	return s.getAgreement(c)
}

// postCorrection corrects a recorded receipt: the transfer should have
// recorded quantity (zero when nothing arrived). Nothing is edited; the
// correction is a new transfer of the difference.
func (s *Server) postCorrection(c *fiber.Ctx) error {
	orig := s.transfer(c.Params("id"))
	if orig.ID == "" {
		return plenty.Errorf(plenty.ENOTFOUND, "transfer %s does not exist", c.Params("id"))
	}
	d, err := s.mandate(c, orig.Receiver, plenty.ScopeAccept)
	if err != nil {
		return err
	}
	in, err := readReceipt(c)
	if err != nil {
		return err
	}
	tr, err := usecase.Correct(c.UserContext(), s.env(), d, orig, in, requestKey(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"transfer": s.viewTransfer(tr)})
}

package hub

import (
	"context"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/ledger"
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

func (s *Server) viewAgreement(line ledger.AgreementLine) agreementView {
	v := agreementView{Agreement: line.Agreement, Unit: s.unitOf(line.Item), Received: line.Received}
	if line.TaskStatus != "" {
		v.Task, v.TaskStatus = plenty.TaskID(line.ID), line.TaskStatus
	}
	return v
}

// agreementsPage returns up to limit agreements council is party to (all
// when ""), the newest first, older than before (from the newest when
// nil), and whether more follow.
func (s *Server) agreementsPage(ctx context.Context, council string, before *plenty.AgreementKey, limit int) ([]agreementView, bool, error) {
	lines, more, err := s.ledger.ListAgreements(ctx, council, before, limit)
	if err != nil {
		return nil, false, err
	}
	out := make([]agreementView, len(lines))
	for i, l := range lines {
		out[i] = s.viewAgreement(l)
	}
	return out, more, nil
}

// deskAgreements are the agreements a council's desk lists: the newest
// hundred, and every one still active after them, which the council may
// still confirm or cancel there. The API pages through all.
func (s *Server) deskAgreements(ctx context.Context, council string) ([]agreementView, error) {
	page, more, err := s.agreementsPage(ctx, council, nil, 100)
	if err != nil || !more {
		return page, err
	}
	listed := map[string]bool{}
	for _, a := range page {
		listed[a.ID] = true
	}
	var older []string
	s.read(func(st *plenty.State) error {
		for _, a := range st.AgreementsNewest(nil, st.AgreementsUnderWay(), func(a plenty.Agreement) bool {
			return a.Status == plenty.AgreementActive && (a.Provider == council || a.Receiver == council) && !listed[a.ID]
		}) {
			older = append(older, a.ID)
		}
		return nil
	})
	for _, id := range older {
		line, err := s.ledger.AgreementLine(ctx, id)
		if err != nil {
			return page, err
		}
		page = append(page, s.viewAgreement(line))
	}
	return page, nil
}

// agreementCursor is the cursor of the page after a: when it formed
// (Unix nanoseconds) and its id.
func agreementCursor(a plenty.Agreement) string {
	k := plenty.KeyOf(a)
	return strconv.FormatInt(k.FormedAt, 10) + "." + k.ID
}

func parseAgreementCursor(q string) (*plenty.AgreementKey, bool) {
	at, id, ok := strings.Cut(q, ".")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, false
	}
	return &plenty.AgreementKey{FormedAt: n, ID: id}, true
}

// listAgreements serves GET /api/v1/agreements?council=&cursor=&limit=.
func (s *Server) listAgreements(c *fiber.Ctx) error {
	council := c.Query("council")
	var fe fieldErrors
	if council != "" {
		if err := s.councilExists(council); err != nil {
			return err
		}
	}
	var before *plenty.AgreementKey
	if q := c.Query("cursor"); q != "" {
		var ok bool
		if before, ok = parseAgreementCursor(q); !ok {
			fe.Addf("cursor", "must be the next_cursor of the previous page")
		}
	}
	limit := 100
	if q := c.Query("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > 1000 {
			fe.Addf("limit", "must be a whole number from 1 to 1000")
		}
		limit = n
	}
	if err := fe.Err(); err != nil {
		return err
	}
	page, more, err := s.agreementsPage(c.UserContext(), council, before, limit)
	if err != nil {
		return err
	}
	res := fiber.Map{"agreements": page}
	if more {
		res["next_cursor"] = agreementCursor(page[len(page)-1].Agreement)
	}
	return c.JSON(res)
}

func (s *Server) getAgreement(c *fiber.Ctx) error {
	line, err := s.ledger.AgreementLine(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"agreement": s.viewAgreement(line)})
}

// taskAndAgreement reads a task and its agreement (agreement, when the
// task's is known), under way or finished; ok is false when there is no
// agreement. A cancelled agreement may have no task.
func (s *Server) taskAndAgreement(task, agreement string) (plenty.Task, plenty.Agreement, bool) {
	ctx := context.Background()
	t, err := s.ledger.Task(ctx, task)
	if err == nil {
		agreement = t.Agreement
	}
	a, err := s.ledger.Agreement(ctx, agreement)
	return t, a, err == nil
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

// agreementFor reads an agreement and authenticates a delegate of its
// receiving council (or of either party, when anyParty) with the accept
// scope.
func (s *Server) agreementFor(c *fiber.Ctx, anyParty bool) (plenty.Agreement, plenty.Delegate, error) {
	a, err := s.ledger.Agreement(c.UserContext(), c.Params("id"))
	if err != nil {
		return a, plenty.Delegate{}, err
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
	orig, err := s.ledger.Transfer(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
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

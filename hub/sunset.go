package hub

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/plentyhub/plenty"
)

// terms are the hub's published time limits (plenty.Terms).
func (s *Server) terms() plenty.Terms {
	return plenty.Terms{LotteryWindow: s.cfg.LotteryWindow, ClaimWindow: s.cfg.ClaimWindow, AgreementTerm: s.cfg.AgreementTerm}
}

// Tick runs the timers once at the hub's clock: it records what ran out
// (offers, needs, mandates, agreements never picked up, claims not picked
// up in time) and draws a volunteer for each task whose window closed. The
// server ticks every TickInterval; tests call Tick after moving the clock.
//
// A draw is seeded by the root of a checkpoint the hub signs after the
// window closed, which covers the last volunteer's offer to carry: the
// winner is plenty.DrawVolunteer(root, task, candidates), recorded with the
// checkpoint's size so anyone can check it against the signed checkpoint.
func (s *Server) Tick(ctx context.Context) error {
	var due plenty.Due
	now := s.now()
	s.read(func(st *plenty.State) error { due = st.Due(now, s.terms()); return nil })
	if due.Empty() {
		return nil
	}
	var errs []error
	hub := plenty.ActorHub
	record := func(kind string, data any) {
		// Another tick or a delegate may have ended it first: that is no fault.
		if _, _, err := s.write(ctx, kind, hub, data); err != nil && plenty.ErrorCode(err) != plenty.ECONFLICT {
			errs = append(errs, err)
		}
	}
	for _, id := range due.Offers {
		record(plenty.KindOfferExpired, plenty.PostingClosed{ID: id})
	}
	for _, id := range due.Needs {
		record(plenty.KindNeedExpired, plenty.PostingClosed{ID: id})
	}
	for _, id := range due.Mandates {
		record(plenty.KindMandateExpired, plenty.MandateExpired{Delegate: id})
	}
	for _, id := range due.Agreements {
		record(plenty.KindAgreementCancelled, plenty.AgreementCancellation{Agreement: id, Reason: plenty.CancelExpired})
	}
	for _, id := range due.Claims {
		record(plenty.KindTaskLapsed, plenty.TaskRef{Task: id})
	}
	if len(due.Draws) > 0 {
		if err := s.draw(ctx, due.Draws, record); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// draw assigns each task by the lottery, seeded from a fresh checkpoint.
func (s *Server) draw(ctx context.Context, tasks []string, record func(string, any)) error {
	signed, err := s.ledger.Checkpoint(ctx)
	if err != nil {
		return err
	}
	// A signed note is its text, a blank line, then the signatures.
	text, _, _ := strings.Cut(string(signed), "\n\n")
	cp, err := plenty.ParseCheckpoint(text + "\n")
	if err != nil {
		return err
	}
	size, root := cp.Size, cp.Root
	for _, id := range tasks {
		var candidates []string
		s.read(func(st *plenty.State) error {
			if t, ok := st.Task(id); ok && t.Status == plenty.TaskOpen {
				candidates = t.Candidates
			}
			return nil
		})
		if len(candidates) == 0 {
			continue
		}
		record(plenty.KindTaskAssigned, plenty.TaskAssignment{
			Task: id, Volunteer: plenty.DrawVolunteer(root[:], id, candidates), Seed: hex.EncodeToString(root[:]), TreeSize: size})
	}
	return nil
}

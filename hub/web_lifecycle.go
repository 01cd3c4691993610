package hub

import (
	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

type deskLifecycle struct{}

func (w *web) deskLifecycle(d plenty.Delegate) deskLifecycle { return deskLifecycle{} }

func (w *web) deskDecide(c *fiber.Ctx, sess *session, d plenty.Delegate) error {
	return errLifecyclePending
}

func (w *web) deskConfirmReceipt(c *fiber.Ctx, sess *session, d plenty.Delegate) error {
	return errLifecyclePending
}

func (w *web) volunteerPage(c *fiber.Ctx) error { return errLifecyclePending }
func (w *web) volunteerRegister(c *fiber.Ctx) error {
	return errLifecyclePending
}
func (w *web) volunteerSignIn(c *fiber.Ctx) error {
	return errLifecyclePending
}
func (w *web) asVolunteer(h func(*fiber.Ctx, *session, plenty.Volunteer) error) fiber.Handler {
	return func(c *fiber.Ctx) error { return errLifecyclePending }
}
func (w *web) volunteerSignOut(c *fiber.Ctx, sess *session, v plenty.Volunteer) error { return nil }
func (w *web) volunteerTaskAct(c *fiber.Ctx, sess *session, v plenty.Volunteer) error { return nil }

// errLifecyclePending answers the pages that wait for the exchange
// lifecycle's functions (proposals, receipts, volunteers, tasks).
var errLifecyclePending = plenty.Errorf(plenty.EUNAVAILABLE, "this part of the hub is not open yet: the exchange lifecycle is being built")

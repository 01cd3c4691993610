package usecase

import (
	"context"
	"strings"

	"github.com/plentyhub/plenty"
)

// Volunteer is a volunteer's registration as sent: a pseudonymous handle
// and, optionally, a contact kept privately (Env.Private).
type Volunteer struct {
	Handle  string      `json:"handle" validate:"required"`
	Contact string      `json:"contact" validate:"max=200"`
	Faults  FieldErrors `json:"-"` // as Council.Faults
}

// RegisterVolunteer registers a volunteer and returns it with its token,
// which is empty on an idempotent replay. The fold judges the handle
// (EINVALID) and its uniqueness (ECONFLICT).
func RegisterVolunteer(ctx context.Context, env Env, in Volunteer, key Key) (plenty.Volunteer, string, error) {
	fe := append(in.Faults, Validate(&in)...)
	if strings.ContainsAny(in.Contact, "\x00\r\n") {
		fe.Addf("contact", "must be one line of text")
	}
	if err := fe.Err(); err != nil {
		return plenty.Volunteer{}, "", err
	}
	now := env.now()
	token := NewToken()
	data := plenty.VolunteerRegistration{ID: NewID("v_", now), Handle: in.Handle}
	replay, err := env.append(ctx, key, plenty.KindVolunteerRegistered, plenty.ActorPublic, &data,
		plenty.Credential{Holder: plenty.VolunteerActor(data.ID), Hash: plenty.HashToken(token)})
	if err != nil {
		return plenty.Volunteer{}, "", err
	}
	var v plenty.Volunteer
	if err := env.read(func(st *plenty.State) { v, _ = st.Volunteer(data.ID) }); err != nil {
		return v, "", err
	}
	if replay {
		return v, "", nil // the first registration's token cannot be shown again
	}
	// Kept only for a volunteer who exists. Should the hub stop between the
	// two writes, the volunteer stands without a contact, which is optional.
	if in.Contact != "" && env.Private != nil {
		if err := env.Private.KeepContact(v.ID, in.Contact, now); err != nil {
			return v, "", plenty.Errorf(plenty.EINTERNAL, "registered as %s, but the contact could not be kept: %v", v.ID, err)
		}
	}
	return v, token, nil
}

// Vouch records that d's council vouches for volunteer, who may then
// offer to carry deliveries. The vouch is public: it names the council
// and the volunteer's handle, never a person.
func Vouch(ctx context.Context, env Env, d plenty.Delegate, volunteer string, key Key) (plenty.Volunteer, error) {
	if _, err := env.append(ctx, key, plenty.KindVolunteerVouched, plenty.DelegateActor(d.ID),
		&plenty.VolunteerVouch{Volunteer: volunteer, Council: d.Council}); err != nil {
		return plenty.Volunteer{}, err
	}
	var v plenty.Volunteer
	err := env.read(func(st *plenty.State) { v, _ = st.Volunteer(volunteer) })
	return v, err
}

// taskActions are what a volunteer does with a task: offer to carry it,
// pick it up, drop it off.
var taskActions = map[string]string{
	"volunteer": plenty.KindTaskVolunteered,
	"pickup":    plenty.KindTaskPickedUp,
	"dropoff":   plenty.KindTaskDroppedOff,
}

// ActOnTask records that volunteer v offers to carry ("volunteer"), picks
// up ("pickup") or drops off ("dropoff") task. The fold decides whether
// v may (the lottery's winner only, in order, before the claim lapses).
func ActOnTask(ctx context.Context, env Env, v plenty.Volunteer, task, action string, key Key) (plenty.Task, error) {
	kind, ok := taskActions[action]
	if !ok {
		return plenty.Task{}, plenty.Invalid("action", "must be volunteer, pickup or dropoff")
	}
	if _, err := env.append(ctx, key, kind, plenty.VolunteerActor(v.ID), &plenty.TaskRef{Task: task}); err != nil {
		return plenty.Task{}, err
	}
	return env.Ledger.Task(ctx, task)
}

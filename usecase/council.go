package usecase

import (
	"context"
	"slices"

	"github.com/plentyhub/plenty"
)

// Council is a council's registration as sent.
type Council struct {
	Name     string         `json:"name"`
	Sector   string         `json:"sector"`
	Place    string         `json:"place"`
	Location *Location      `json:"location" validate:"required"`
	Delegate *FirstDelegate `json:"delegate"`
	// Faults the adapter found reading what was sent, answered together
	// with the use case's own; nothing is written while there is one.
	Faults FieldErrors `json:"-"`
}

// FirstDelegate names the delegate a registration issues.
type FirstDelegate struct {
	Label   string `json:"label"`
	Mandate string `json:"mandate"`
}

// Registration is what registering a council gives: the council, its
// first delegate, and the two secrets, which are empty on an idempotent
// replay (they are not kept, so they cannot be shown again).
type Registration struct {
	Council            plenty.Council
	Delegate           plenty.Delegate
	Token, AssemblyKey string
	Replay             bool
}

// RegisterCouncil registers a council, issues its first delegate, who
// holds every scope for the longest term, and makes its assembly key. The
// fold judges the fields (EINVALID naming them) and the name's uniqueness
// in its place (ECONFLICT).
func RegisterCouncil(ctx context.Context, env Env, in Council, key Key) (Registration, error) {
	fe := append(in.Faults, Validate(&in)...)
	if err := fe.Err(); err != nil {
		return Registration{}, err
	}
	now := env.now()
	id, first := NewID("c_", now), NewID("d_", now)
	token, assembly := NewToken(), newAssemblyKey()
	label, mandate := "first delegate", "Registers the council; may post, accept and issue delegates until the assembly issues its own mandates."
	if in.Delegate != nil {
		if in.Delegate.Label != "" {
			label = in.Delegate.Label
		}
		if in.Delegate.Mandate != "" {
			mandate = in.Delegate.Mandate
		}
	}
	data := plenty.CouncilRegistration{ID: id, Name: in.Name, Sector: in.Sector, Place: in.Place,
		Location: in.Location.location(),
		Delegate: plenty.MandateGrant{ID: first, Council: id, Label: label, Mandate: mandate,
			Scopes: plenty.AllScopes, ExpiresAt: now.Add(plenty.MaxMandateTerm)},
	}
	replay, err := env.append(ctx, key, plenty.KindCouncilRegistered, plenty.ActorPublic, &data,
		plenty.Credential{Holder: plenty.DelegateActor(first), Hash: plenty.HashToken(token)},
		plenty.Credential{Holder: plenty.AssemblyActor(id), Hash: plenty.HashToken(assembly)})
	if err != nil {
		return Registration{}, err
	}
	r := Registration{Token: token, AssemblyKey: assembly, Replay: replay}
	if replay {
		r.Token, r.AssemblyKey = "", ""
	}
	err = env.read(func(st *plenty.State) {
		r.Council, _ = st.Council(data.ID)
		r.Delegate, _ = st.Delegate(data.Delegate.ID)
	})
	return r, err
}

// Authority is who manages a council's mandates: a delegate holding the
// delegate scope, or the council's assembly (Delegate nil). The adapter
// authenticates it.
type Authority struct {
	Actor    plenty.Actor
	Council  string
	Delegate *plenty.Delegate
}

// ByDelegate is the authority of delegate d.
func ByDelegate(d plenty.Delegate) Authority {
	return Authority{Actor: plenty.DelegateActor(d.ID), Council: d.Council, Delegate: &d}
}

// ByAssembly is the authority of council's assembly.
func ByAssembly(council string) Authority {
	return Authority{Actor: plenty.AssemblyActor(council), Council: council}
}

// Mandate is a new delegate's mandate as sent.
type Mandate struct {
	Label       string      `json:"label"`
	Mandate     string      `json:"mandate"`
	Scopes      []string    `json:"scopes"`
	CosignAbove Decimal     `json:"cosign_above"`
	ExpiresAt   Timestamp   `json:"expires_at"`
	Faults      FieldErrors `json:"-"` // as Council.Faults
}

// Issued is a new delegate and its token, which is empty on an idempotent
// replay.
type Issued struct {
	Delegate plenty.Delegate
	Token    string
}

// IssueDelegate issues a delegate of by's council. Without expires_at the
// term runs as long as allowed: 7 days, and never past the issuing
// delegate's own; without cosign_above the threshold is the issuer's. The
// fold checks the mandate against its issuer's (EFORBIDDEN naming the
// field and the limit) and its fields (EINVALID).
func IssueDelegate(ctx context.Context, env Env, by Authority, in Mandate, key Key) (Issued, error) {
	fe := append(in.Faults, Validate(&in)...)
	now := env.now()
	expires := now.Add(plenty.MaxMandateTerm)
	if by.Delegate != nil && by.Delegate.ExpiresAt.Before(expires) {
		expires = by.Delegate.ExpiresAt
	}
	if in.ExpiresAt != "" {
		t, f := in.ExpiresAt.Parse("expires_at")
		fe.Add(f)
		expires = t
	}
	var cosign plenty.Amount
	if in.CosignAbove != "" && string(in.CosignAbove) != "0" {
		// The threshold is in base units of whatever item is accepted.
		a, f := in.CosignAbove.Parse("cosign_above", "each", plenty.Count)
		fe.Add(f)
		cosign = a
	} else if in.CosignAbove == "" && by.Delegate != nil {
		cosign = by.Delegate.CosignAbove // no weaker than the issuer's
	}
	if err := fe.Err(); err != nil {
		return Issued{}, err
	}
	token := NewToken()
	data := plenty.MandateGrant{ID: NewID("d_", now), Council: by.Council, Label: in.Label, Mandate: in.Mandate,
		Scopes: orderScopes(in.Scopes), CosignAbove: cosign, ExpiresAt: expires}
	replay, err := env.append(ctx, key, plenty.KindDelegateIssued, by.Actor, &data,
		plenty.Credential{Holder: plenty.DelegateActor(data.ID), Hash: plenty.HashToken(token)})
	if err != nil {
		return Issued{}, err
	}
	if replay {
		token = ""
	}
	out := Issued{Token: token}
	err = env.read(func(st *plenty.State) { out.Delegate, _ = st.Delegate(data.ID) })
	return out, err
}

// orderScopes puts scopes in the order the fold expects, keeping unknown
// ones (which the fold refuses by name) at the end.
func orderScopes(in []string) []string {
	var out []string
	for _, sc := range plenty.AllScopes {
		for _, x := range in {
			if x == sc {
				out = append(out, sc)
			}
		}
	}
	for _, x := range in {
		if !slices.Contains(plenty.AllScopes, x) {
			out = append(out, x)
		}
	}
	return out
}

// RecallDelegate recalls delegate target of by's council, and every
// mandate issued under it, at once. The fold returns ENOTFOUND when the
// council has no such delegate, EFORBIDDEN when by may not recall it, and
// ECONFLICT when it was already recalled.
func RecallDelegate(ctx context.Context, env Env, by Authority, target string, key Key) (plenty.Delegate, error) {
	if _, err := env.append(ctx, key, plenty.KindDelegateRecalled, by.Actor,
		&plenty.MandateRecall{Council: by.Council, Delegate: target}); err != nil {
		return plenty.Delegate{}, err
	}
	return env.Ledger.Delegate(ctx, target)
}

// Renewal is a mandate's new end as sent; without one the mandate runs
// as long as allowed.
type Renewal struct {
	ExpiresAt Timestamp   `json:"expires_at"`
	Faults    FieldErrors `json:"-"` // as Council.Faults
}

// RenewDelegate gives the mandate of target, in force, a new end, by the
// assembly or a delegate above it in its chain of issue; the fold refuses
// a renewal by the delegate itself or past a mandate above (EFORBIDDEN).
func RenewDelegate(ctx context.Context, env Env, by Authority, target string, in Renewal, key Key) (plenty.Delegate, error) {
	fe := in.Faults
	expires := env.now().Add(plenty.MaxMandateTerm)
	if in.ExpiresAt != "" {
		t, f := in.ExpiresAt.Parse("expires_at")
		fe.Add(f)
		expires = t
	}
	if err := fe.Err(); err != nil {
		return plenty.Delegate{}, err
	}
	if _, err := env.append(ctx, key, plenty.KindDelegateRenewed, by.Actor,
		&plenty.MandateRenewal{Council: by.Council, Delegate: target, ExpiresAt: expires}); err != nil {
		return plenty.Delegate{}, err
	}
	return env.Ledger.Delegate(ctx, target)
}

// ReplaceAssemblyKey gives by's council's assembly a new key and returns
// it (empty on an idempotent replay); the old one stops working at once.
// The fold lets only the assembly itself do it (EFORBIDDEN).
func ReplaceAssemblyKey(ctx context.Context, env Env, by Authority, key Key) (string, error) {
	assembly := newAssemblyKey()
	replay, err := env.append(ctx, key, plenty.KindAssemblyReplaced, by.Actor, &plenty.AssemblyKeyReplaced{Council: by.Council},
		plenty.Credential{Holder: plenty.AssemblyActor(by.Council), Hash: plenty.HashToken(assembly)})
	if err != nil || replay {
		return "", err
	}
	return assembly, nil
}

package hub

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/ledger"
)

// Ledger is what the hub needs of the ledger (*ledger.Ledger). Tests give
// the hub a fake where a real ledger cannot be made to fail on cue.
type Ledger interface {
	// Append records one event once it is durable; replay is true when it
	// answered from an idempotency key (see ledger.Ledger).
	Append(ctx context.Context, r ledger.Request) (ev plenty.Event, replay bool, err error)
	// Read calls fn with the state of the durable events, under a shared
	// lock; it returns EUNAVAILABLE when the ledger failed.
	Read(fn func(*plenty.State) error) error
	// Size is the number of durable events.
	Size() int64
	// Failed returns the error that stopped the ledger, or nil.
	Failed() error
	// Dir is the data folder.
	Dir() string
	Events(ctx context.Context, from, to int64, fn func(plenty.Event) error) error
	TreeHash(ctx context.Context, size int64) (tlog.Hash, error)
	// HashReader reads the stored tree hashes (for tiles).
	HashReader(ctx context.Context) tlog.HashReader
	InclusionProof(ctx context.Context, seq, size int64) (tlog.RecordProof, error)
	ConsistencyProof(ctx context.Context, old, size int64) (tlog.TreeProof, error)
	// Checkpoint signs (or returns the last) checkpoint of the events
	// committed so far.
	Checkpoint(ctx context.Context) ([]byte, error)
	VerifierKey() string
	// Origin is the origin line of the hub's checkpoints.
	Origin() string
	// DrawKey is the key of the lottery's verifiable random function.
	DrawKey() *plenty.VRFKey
	Stats() ledger.Stats
	// Offer and Need return a posting, open or closed (a closed one may be
	// read from the store rather than the state); ENOTFOUND when none has
	// the id.
	Offer(ctx context.Context, id string) (plenty.Offer, error)
	Need(ctx context.Context, id string) (plenty.Need, error)
	// ListOffers and ListNeeds return one page of postings, open and
	// closed, ordered by id, and whether more follow.
	ListOffers(ctx context.Context, f plenty.PostingFilter) ([]plenty.Offer, bool, error)
	ListNeeds(ctx context.Context, f plenty.PostingFilter) ([]plenty.Need, bool, error)
	// Delegate returns a delegate, its mandate in force or ended (an ended
	// one may be read from the store); DelegateByToken the one whose token
	// hashes to hash; both ENOTFOUND when there is none. CouncilDelegates
	// returns those of a council the state holds and the ended most
	// recently issued of the others, ordered by id.
	Delegate(ctx context.Context, id string) (plenty.Delegate, error)
	DelegateByToken(ctx context.Context, hash string) (plenty.Delegate, error)
	CouncilDelegates(ctx context.Context, council string, ended int) ([]plenty.Delegate, error)
	// Agreement, Task, Transfer and Acceptance return one, under way or
	// finished (a finished one is read from the store); ENOTFOUND when
	// none has the id.
	Agreement(ctx context.Context, id string) (plenty.Agreement, error)
	Task(ctx context.Context, id string) (plenty.Task, error)
	Transfer(ctx context.Context, id string) (plenty.Transfer, error)
	Acceptance(ctx context.Context, proposal string) (plenty.Acceptance, error)
	// AgreementLine is an agreement with what was received and its task's
	// status; ListAgreements one page of them, the newest first, older
	// than before (plenty.AgreementKey), and whether more follow.
	AgreementLine(ctx context.Context, id string) (ledger.AgreementLine, error)
	ListAgreements(ctx context.Context, council string, before *plenty.AgreementKey, limit int) ([]ledger.AgreementLine, bool, error)
	// ListTasks returns one page of tasks, ordered by id, and whether more
	// follow.
	ListTasks(ctx context.Context, f ledger.TaskFilter) ([]plenty.Task, bool, error)
	// RecentTransfers returns the newest n transfers of council (all when
	// ""), the newest first; RecentDeliveries the newest n tasks a
	// volunteer dropped off, the latest first.
	RecentDeliveries(ctx context.Context, volunteer string, n int) ([]plenty.Task, error)
	RecentTransfers(ctx context.Context, council string, n int) ([]plenty.Transfer, error)
	// Documents streams the projection documents of one kind at a size,
	// for the open data's tables (exports.Projections); ProjectionsExact
	// says whether they are exact at that size.
	Documents(ctx context.Context, kind string, size, part int64, parts []int64, fn func(id string, first int64, doc []byte) error) error
	Changed(ctx context.Context, kind string, since, size int64, fn func(first int64) error) error
	ProjectionsExact(size int64) bool
}

var _ Ledger = (*ledger.Ledger)(nil)

// requireLedger answers every request with 503 once the ledger has failed:
// writes stopped, and what a read would show may be behind what was
// acknowledged. Only a restart, which recovers every acknowledged event
// from the journal, mends it.
func (s *Server) requireLedger(c *fiber.Ctx) error {
	if err := s.ledger.Failed(); err != nil {
		return plenty.Errorf(plenty.EUNAVAILABLE, "the hub's ledger stopped after a failed write, so the hub must be restarted (a restart recovers every acknowledged write); ask its operator: %s",
			plenty.ErrorMessage(err))
	}
	return c.Next()
}

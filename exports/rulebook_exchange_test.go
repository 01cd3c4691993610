package exports

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/plentyhub/plenty"
)

// Proposals, agreements, receipts, corrections, volunteers, draws and the
// hub's terms: every rule of their fold has a row here or in
// TestVerifyRefusesResignedLogsThatBreakARule. The base log ends with p1
// agreed (o1 of c2 to n2 of c1, 50 kg) and its task drawn.
func TestVerifyRefusesResignedLogsThatBreakAnExchangeRule(t *testing.T) {
	base := drawLog(t, false)
	start := base.events[0].Time
	last := base.events[len(base.events)-1]
	d1, d2 := plenty.DelegateActor("d-c1"), plenty.DelegateActor("d-c2")
	ag := plenty.AgreementID("p1")
	task := plenty.TaskID(ag)
	var draw plenty.TaskAssignment
	if err := json.Unmarshal(last.Data, &draw); err != nil {
		t.Fatal(err)
	}
	winner := draw.Volunteer
	loser := map[string]string{"v1": "v2", "v2": "v1"}[winner]
	p := func(id, offer, need string, q plenty.Amount) plenty.ProposalDecision {
		return plenty.ProposalDecision{Proposal: plenty.ProposalTerms{ID: id, Offer: offer, Need: need, Quantity: q, DistanceKm: 7.3, Engine: "test"}}
	}
	need := func(id, council string, at time.Time, lat float64) plenty.NeedPosting {
		return plenty.NeedPosting{ID: id, Council: council, Item: "wheat-flour", Quantity: 300_000,
			Location: plenty.Location{Lat: lat, Lon: -0.1156}, NeededBy: at.Add(time.Hour), Priority: 3, MaxDistanceKm: 50,
			ExpiresAt: at.Add(time.Hour)}
	}
	c3 := plenty.CouncilRegistration{ID: "c3", Name: "Dock Cooks", Sector: "food", Place: "Riverside", Location: plenty.Location{Lat: 51.45, Lon: -0.1},
		Delegate: plenty.MandateGrant{ID: "d-c3", Council: "c3", Label: "Ash", Mandate: "all", Scopes: plenty.AllScopes, ExpiresAt: start.Add(6 * 24 * time.Hour)}}
	proposal := func(d map[string]any) map[string]any { return d["proposal"].(map[string]any) }
	cancel := func(reason string) plenty.AgreementCancellation {
		return plenty.AgreementCancellation{Agreement: ag, Reason: reason}
	}
	received := func(q plenty.Amount) plenty.TransferRecorded {
		return plenty.TransferRecorded{Agreement: ag, Quantity: q}
	}
	rows := []ruleRow{
		// Deciding proposals.
		{"HubAccepts", actedBy(plenty.KindProposalAccepted, 0, plenty.ActorHub), "only a council's delegate may do this, not hub"},
		{"UnknownDelegateAccepts", actedBy(plenty.KindProposalAccepted, 0, plenty.DelegateActor("ghost")), "delegate ghost does not exist"},
		{"ProposalWithoutID", change(plenty.KindProposalAccepted, 0, func(d map[string]any) { proposal(d)["id"] = "" }), "proposal.id is required"},
		{"AcceptanceOfNoOffer", change(plenty.KindProposalAccepted, 0, func(d map[string]any) { proposal(d)["offer"] = "o9" }), "offer o9 does not exist"},
		{"AcceptanceOfNoNeed", change(plenty.KindProposalAccepted, 0, func(d map[string]any) { proposal(d)["need"] = "n9" }), "need n9 does not exist"},
		{"AcceptanceByAThirdCouncil", func(e *logEdit) int {
			i := e.find(plenty.KindProposalAccepted, 0)
			e.insert(i, plenty.KindCouncilRegistered, plenty.ActorPublic, c3)
			e.evs[i+1].actor = plenty.DelegateActor("d-c3")
			return i + 1
		}, "delegate d-c3 acts for council c3, which is neither the offer's nor the need's"},
		{"AcceptanceOutsideTheMandate", func(e *logEdit) int {
			e.then(plenty.KindDelegateIssued, d1, plenty.MandateGrant{ID: "d5", Council: "c1", Label: "Kim", Mandate: "post",
				Scopes: []string{plenty.ScopePost}, ExpiresAt: start.Add(5 * 24 * time.Hour)})
			return e.then(plenty.KindProposalAccepted, plenty.DelegateActor("d5"), p("p2", "o1", "n2", 5_000))
		}, `delegate d5's mandate does not include the "accept" scope`},
		{"AcceptanceOnOtherTerms", change(plenty.KindProposalAccepted, 1, func(d map[string]any) { proposal(d)["quantity"] = "40" }),
			"proposal p1 was decided with other terms"},
		{"AcceptanceOfAnAgreedProposal", func(e *logEdit) int {
			return e.then(plenty.KindProposalAccepted, d1, e.data(plenty.KindProposalAccepted, 1))
		}, "proposal p1 is already agreed as " + ag},
		{"AcceptanceAfterADecline", func(e *logEdit) int {
			i := e.find(plenty.KindProposalAccepted, 1)
			e.insert(i, plenty.KindProposalDeclined, d1, e.evs[i].data)
			return i + 1
		}, "council c1 declined proposal p1"},
		{"SameDelegateAcceptsTwice", twice(plenty.KindProposalAccepted, 0),
			"delegate d-c2 already accepted proposal p1; a co-signature must come from another delegate"},
		{"CosignatureFromTheSameChain", func(e *logEdit) int {
			e.then(plenty.KindDelegateIssued, d1, plenty.MandateGrant{ID: "d5", Council: "c1", Label: "Kim", Mandate: "accept",
				Scopes: []string{plenty.ScopeAccept}, ExpiresAt: start.Add(5 * 24 * time.Hour)})
			e.then(plenty.KindProposalAccepted, d1, p("p2", "o1", "n2", 5_000))
			return e.then(plenty.KindProposalAccepted, plenty.DelegateActor("d5"), p("p2", "o1", "n2", 5_000))
		}, "delegate d5 is in the chain of issue of d-c1, who accepted proposal p2"},
		{"NewProposalForADeclinedPair", func(e *logEdit) int {
			e.then(plenty.KindProposalDeclined, d1, p("p2", "o1", "n2", 5_000))
			return e.then(plenty.KindProposalAccepted, d2, p("p3", "o1", "n2", 5_000))
		}, "offer o1 and need n2 were declined as a pair"},
		{"ExchangeWithItself", func(e *logEdit) int {
			e.then(plenty.KindNeedPosted, d2, need("n3", "c2", e.evs[len(e.evs)-1].time, 51.5))
			return e.then(plenty.KindProposalAccepted, d2, p("p2", "o1", "n3", 5_000))
		}, "council c2 would exchange with itself"},
		{"PairOfTwoItems", func(e *logEdit) int {
			e.then(plenty.KindItemDefined, plenty.ActorHub, plenty.ItemDefinition{Code: "rye-flour", Name: "Rye flour", Dimension: plenty.Mass, Unit: "kg"})
			n := need("n3", "c1", e.evs[len(e.evs)-1].time, 51.4613)
			n.Item = "rye-flour"
			e.then(plenty.KindNeedPosted, d1, n)
			return e.then(plenty.KindProposalAccepted, d2, p("p2", "o1", "n3", 5_000))
		}, "proposal p2 pairs offer o1 of wheat-flour with need n3 of rye-flour"},
		{"ProposalOfNothing", func(e *logEdit) int { return e.then(plenty.KindProposalAccepted, d2, p("p2", "o1", "n2", 0)) },
			"proposal.quantity must be greater than 0"},
		{"ProposalOfALaterLedger", change(plenty.KindProposalAccepted, 0, func(d map[string]any) { proposal(d)["ledger_size"] = 1000 }),
			"proposal p1 claims ledger size 1000, but the ledger has 12 events"},
		{"NegativeDistance", change(plenty.KindProposalAccepted, 0, func(d map[string]any) { proposal(d)["distance_km"] = -1 }),
			"proposal.distance_km must be between 0 and 20000"},
		{"AcceptanceOfAnExpiredProposal", change(plenty.KindProposalAccepted, 0, func(d map[string]any) {
			proposal(d)["expires_at"] = start.Add(48 * time.Hour).Format(time.RFC3339)
		}), "proposal p1 expired at"},
		{"AcceptanceOfAWithdrawnOffer", func(e *logEdit) int { return e.then(plenty.KindProposalAccepted, d2, p("p2", "o2", "n2", 1_000)) },
			"offer o2 is withdrawn"},
		{"AcceptanceOfAnExpiredNeed", func(e *logEdit) int { return e.then(plenty.KindProposalAccepted, d2, p("p2", "o1", "n1", 5_000)) },
			"need n1 is expired"},
		{"MoreThanTheOfferHolds", change(plenty.KindProposalAccepted, 0, func(d map[string]any) { proposal(d)["quantity"] = "250.001" }),
			"offer o1 has 250 left, less than the 250.001 proposed"},
		{"MoreThanTheNeedLacks", change(plenty.KindProposalAccepted, 0, func(d map[string]any) { proposal(d)["quantity"] = "70" }),
			"need n2 lacks only 60, less than the 70 proposed"},
		{"OfferPastItsTime", func(e *logEdit) int {
			return e.thenAt(start.Add(73*time.Hour), plenty.KindProposalAccepted, d2, p("p2", "o1", "n2", 5_000))
		}, "offer o1 has expired or is no longer available"},
		{"NeedPastItsTime", func(e *logEdit) int {
			at := e.evs[len(e.evs)-1].time
			e.then(plenty.KindNeedPosted, d1, need("n3", "c1", at, 51.4613))
			return e.thenAt(at.Add(2*time.Hour), plenty.KindProposalAccepted, d2, p("p2", "o1", "n3", 5_000))
		}, "need n3 has expired"},
		{"BelowTheSmallestSplit", func(e *logEdit) int { return e.then(plenty.KindProposalAccepted, d2, p("p2", "o1", "n2", 100)) },
			"proposal p2 takes 0.1 of offer o1, less than its smallest split of 0.5"},
		{"OfferAvailableOnlyAfterTheNeed", func(e *logEdit) int {
			at := e.evs[len(e.evs)-1].time
			e.then(plenty.KindOfferPosted, d2, plenty.OfferPosting{ID: "o3", Council: "c2", Item: "wheat-flour", Quantity: 9_000,
				Location: plenty.Location{Lat: 51.5, Lon: -0.2}, AvailableFrom: at.Add(240 * time.Hour), AvailableUntil: at.Add(264 * time.Hour),
				MaxDistanceKm: 40, ExpiresAt: at.Add(264 * time.Hour)})
			return e.then(plenty.KindProposalAccepted, d2, p("p2", "o3", "n2", 5_000))
		}, "which the engine would not propose: the offer is available only after the need is needed"},
		{"PairBeyondReach", func(e *logEdit) int {
			e.then(plenty.KindNeedPosted, d1, need("n3", "c1", e.evs[len(e.evs)-1].time, 55))
			return e.then(plenty.KindProposalAccepted, d2, p("p2", "o1", "n3", 5_000))
		}, "the two are farther apart than one of them reaches"},

		// Taking an acceptance back.
		{"WithdrawalOfNoProposal", func(e *logEdit) int {
			return e.then(plenty.KindAcceptanceWithdrawn, d1, plenty.AcceptanceWithdrawal{})
		}, "proposal is required"},
		{"HubWithdrawsAnAcceptance", func(e *logEdit) int {
			return e.then(plenty.KindAcceptanceWithdrawn, plenty.ActorHub, plenty.AcceptanceWithdrawal{Proposal: "p1"})
		}, "only a council's delegate may do this, not hub"},
		{"WithdrawalOfAnUndecidedProposal", func(e *logEdit) int {
			return e.then(plenty.KindAcceptanceWithdrawn, d1, plenty.AcceptanceWithdrawal{Proposal: "p9"})
		}, "no council has decided proposal p9"},
		{"WithdrawalByACouncilNotParty", func(e *logEdit) int {
			e.then(plenty.KindCouncilRegistered, plenty.ActorPublic, c3)
			return e.then(plenty.KindAcceptanceWithdrawn, plenty.DelegateActor("d-c3"), plenty.AcceptanceWithdrawal{Proposal: "p1"})
		}, "delegate d-c3 acts for council c3, which is neither the provider nor the receiver of proposal p1"},
		{"WithdrawalOfAnAgreedProposal", func(e *logEdit) int {
			return e.then(plenty.KindAcceptanceWithdrawn, d1, plenty.AcceptanceWithdrawal{Proposal: "p1"})
		}, "proposal p1 is already agreed as " + ag + "; to end it, cancel the agreement"},
		{"WithdrawalOfADecline", func(e *logEdit) int {
			e.then(plenty.KindProposalDeclined, d1, p("p2", "o1", "n2", 5_000))
			return e.then(plenty.KindAcceptanceWithdrawn, d1, plenty.AcceptanceWithdrawal{Proposal: "p2"})
		}, "council c1 declined proposal p2; a refusal stands"},
		{"WithdrawalOfNoAcceptance", func(e *logEdit) int {
			e.then(plenty.KindProposalAccepted, d2, p("p2", "o1", "n2", 5_000))
			return e.then(plenty.KindAcceptanceWithdrawn, d1, plenty.AcceptanceWithdrawal{Proposal: "p2"})
		}, "council c1 has not accepted proposal p2"},

		// Cancelling agreements.
		{"CancelOfNoAgreement", func(e *logEdit) int {
			return e.then(plenty.KindAgreementCancelled, d1, plenty.AgreementCancellation{Agreement: "ag_none", Reason: plenty.CancelWithdrawn})
		}, "agreement ag_none does not exist"},
		{"DelegateRecordsAnAgreementsExpiry", func(e *logEdit) int { return e.then(plenty.KindAgreementCancelled, d1, cancel(plenty.CancelExpired)) },
			"only the hub records expiries"},
		{"AgreementExpiredBeforeItsTime", func(e *logEdit) int {
			return e.then(plenty.KindAgreementCancelled, plenty.ActorHub, cancel(plenty.CancelExpired))
		}, "agreement " + ag + " has not run out"},
		{"HubWithdrawsAnAgreement", func(e *logEdit) int {
			return e.then(plenty.KindAgreementCancelled, plenty.ActorHub, cancel(plenty.CancelWithdrawn))
		}, "only a council's delegate may do this, not hub"},
		{"CancelByACouncilNotParty", func(e *logEdit) int {
			e.then(plenty.KindCouncilRegistered, plenty.ActorPublic, c3)
			return e.then(plenty.KindAgreementCancelled, plenty.DelegateActor("d-c3"), cancel(plenty.CancelWithdrawn))
		}, "delegate d-c3's council c3 is not party to agreement " + ag},
		{"CancelForNoReason", func(e *logEdit) int { return e.then(plenty.KindAgreementCancelled, d1, cancel("changed mind")) },
			`reason must be "withdrawn" or "expired"`},
		{"CancelledTwice", func(e *logEdit) int {
			e.then(plenty.KindAgreementCancelled, d1, cancel(plenty.CancelWithdrawn))
			return e.then(plenty.KindAgreementCancelled, d2, cancel(plenty.CancelWithdrawn))
		}, "agreement " + ag + " is cancelled, not active"},

		// Receipts and corrections.
		{"ReceiptOfNoAgreement", func(e *logEdit) int {
			return e.then(plenty.KindTransferRecorded, d1, plenty.TransferRecorded{Agreement: "ag_none", Quantity: 1_000})
		}, "agreement ag_none does not exist"},
		{"HubConfirmsAReceipt", func(e *logEdit) int { return e.then(plenty.KindTransferRecorded, plenty.ActorHub, received(50_000)) },
			"only a council's delegate may do this, not hub"},
		{"ProviderConfirmsAReceipt", func(e *logEdit) int { return e.then(plenty.KindTransferRecorded, d2, received(50_000)) },
			"only the receiving council c1 confirms receipt of agreement " + ag},
		{"ReceiptOfNothing", func(e *logEdit) int { return e.then(plenty.KindTransferRecorded, d1, received(0)) },
			"quantity must be greater than 0; if nothing arrived, cancel the agreement"},
		{"ReceiptAboveTheAgreed", func(e *logEdit) int { return e.then(plenty.KindTransferRecorded, d1, received(50_001)) },
			"quantity must be at most the 50 agreed"},
		{"ReceiptTwice", func(e *logEdit) int {
			e.then(plenty.KindTransferRecorded, d1, received(50_000))
			return e.then(plenty.KindTransferRecorded, d1, received(50_000))
		}, "agreement " + ag + " is received; to fix a recorded receipt, record a correction"},
		{"CorrectionOfNoTransfer", func(e *logEdit) int {
			return e.then(plenty.KindCorrectionRecorded, d1, plenty.CorrectionRecorded{Transfer: "tr_none", Quantity: 1_000})
		}, "transfer tr_none does not exist"},
		{"CorrectionOfACorrection", func(e *logEdit) int {
			e.then(plenty.KindTransferRecorded, d1, received(50_000))
			c := e.then(plenty.KindCorrectionRecorded, d1, plenty.CorrectionRecorded{Transfer: plenty.TransferID(ag), Quantity: 45_000})
			return e.then(plenty.KindCorrectionRecorded, d1, plenty.CorrectionRecorded{Transfer: plenty.CorrectionID(int64(c)), Quantity: 40_000})
		}, "is itself a correction; correct the receipt " + plenty.TransferID(ag)},
		{"ProviderCorrectsAReceipt", func(e *logEdit) int {
			e.then(plenty.KindTransferRecorded, d1, received(50_000))
			return e.then(plenty.KindCorrectionRecorded, d2, plenty.CorrectionRecorded{Transfer: plenty.TransferID(ag), Quantity: 45_000})
		}, "only the receiving council c1 confirms receipt of agreement " + ag},
		{"CorrectionAboveTheAgreed", func(e *logEdit) int {
			e.then(plenty.KindTransferRecorded, d1, received(50_000))
			return e.then(plenty.KindCorrectionRecorded, d1, plenty.CorrectionRecorded{Transfer: plenty.TransferID(ag), Quantity: 50_001})
		}, "quantity must be between 0 and the 50 agreed"},
		{"CorrectionThatChangesNothing", func(e *logEdit) int {
			e.then(plenty.KindTransferRecorded, d1, received(40_000))
			return e.then(plenty.KindCorrectionRecorded, d1, plenty.CorrectionRecorded{Transfer: plenty.TransferID(ag), Quantity: 40_000})
		}, "transfer " + plenty.TransferID(ag) + " already stands at 40"},
		{"CorrectionBeyondTheNeed", func(e *logEdit) int {
			// 40 of 50 arrive: n2 lacks 20 again, and p2 fills it.
			e.then(plenty.KindTransferRecorded, d1, received(40_000))
			e.then(plenty.KindProposalAccepted, d2, p("p2", "o1", "n2", 20_000))
			e.then(plenty.KindProposalAccepted, d1, p("p2", "o1", "n2", 20_000))
			return e.then(plenty.KindCorrectionRecorded, d1, plenty.CorrectionRecorded{Transfer: plenty.TransferID(ag), Quantity: 50_000})
		}, "need n2 has only 0 left open, less than the 10 the correction adds"},

		// Volunteers.
		{"DelegateRegistersAVolunteer", actedBy(plenty.KindVolunteerRegistered, 0, d1), "delegate:d-c1 may not register volunteers"},
		{"VolunteerWithoutID", change(plenty.KindVolunteerRegistered, 0, func(d map[string]any) { d["id"] = "" }), "id is required"},
		{"HandleWithALeadingSpace", change(plenty.KindVolunteerRegistered, 0, func(d map[string]any) { d["handle"] = " v1" }),
			"handle must be 1 to 40 printable characters without leading or trailing spaces"},
		{"HandleOf41Characters", change(plenty.KindVolunteerRegistered, 0, func(d map[string]any) { d["handle"] = strings.Repeat("h", 41) }),
			"handle must be 1 to 40 printable characters"},
		{"VolunteerIDTaken", change(plenty.KindVolunteerRegistered, 1, func(d map[string]any) { d["id"] = "v1" }), `volunteer id "v1" is taken`},
		{"HandleTakenIgnoringCase", change(plenty.KindVolunteerRegistered, 1, func(d map[string]any) { d["handle"] = "HANDLE-V1" }),
			`the handle "HANDLE-V1" is taken`},
		{"VouchForNoVolunteer", change(plenty.KindVolunteerVouched, 0, func(d map[string]any) { d["volunteer"] = "v9" }), "volunteer v9 does not exist"},
		{"VouchByNoCouncil", change(plenty.KindVolunteerVouched, 0, func(d map[string]any) { d["council"] = "c9" }), "council c9 does not exist"},
		{"VouchForAnotherCouncil", change(plenty.KindVolunteerVouched, 0, func(d map[string]any) { d["council"] = "c2" }),
			"delegate d-c1 acts for council c1, not c2"},
		{"VouchedTwice", twice(plenty.KindVolunteerVouched, 0), "council c1 already vouched for volunteer v1"},

		// Delivery tasks.
		{"VolunteeringForNoTask", change(plenty.KindTaskVolunteered, 0, func(d map[string]any) { d["task"] = "tk_none" }), "task tk_none does not exist"},
		{"DelegateVolunteers", actedBy(plenty.KindTaskVolunteered, 0, d1), "only a registered volunteer may do this, not delegate:d-c1"},
		{"VolunteeringForADrawnTask", func(e *logEdit) int {
			return e.then(plenty.KindTaskVolunteered, plenty.VolunteerActor(loser), plenty.TaskRef{Task: task})
		}, "task " + task + " is assigned, no longer open to volunteers"},
		{"VolunteeringTwice", twice(plenty.KindTaskVolunteered, 0), "volunteer v1 already offered to carry task " + task},
		{"LapsedVolunteerComesBack", func(e *logEdit) int {
			e.thenAt(last.Time.Add(time.Hour), plenty.KindTaskLapsed, plenty.ActorHub, plenty.TaskRef{Task: task})
			return e.then(plenty.KindTaskVolunteered, plenty.VolunteerActor(winner), plenty.TaskRef{Task: task})
		}, "volunteer " + winner + "'s claim on task " + task + " lapsed"},
		{"DelegateRecordsALapse", func(e *logEdit) int {
			return e.thenAt(last.Time.Add(time.Hour), plenty.KindTaskLapsed, d1, plenty.TaskRef{Task: task})
		}, "only the hub records a lapsed claim"},
		{"LapseOfAnOpenTask", func(e *logEdit) int {
			return e.insert(e.find(plenty.KindTaskAssigned, 0), plenty.KindTaskLapsed, plenty.ActorHub, plenty.TaskRef{Task: task})
		}, "task " + task + " is open, not assigned"},
		{"LapseBeforeTheClaimRunsOut", func(e *logEdit) int {
			return e.then(plenty.KindTaskLapsed, plenty.ActorHub, plenty.TaskRef{Task: task})
		}, "task " + task + "'s claim runs until"},
		{"PickUpByTheVolunteerNotDrawn", func(e *logEdit) int {
			return e.then(plenty.KindTaskPickedUp, plenty.VolunteerActor(loser), plenty.TaskRef{Task: task})
		}, "task " + task + " is not assigned to volunteer " + loser},
		{"DropOffBeforePickUp", func(e *logEdit) int {
			return e.then(plenty.KindTaskDroppedOff, plenty.VolunteerActor(winner), plenty.TaskRef{Task: task})
		}, "task " + task + " is assigned, not picked_up"},

		// Draws and terms.
		{"VolunteerDraws", actedBy(plenty.KindTaskAssigned, 0, plenty.VolunteerActor(winner)), "only the hub draws volunteers"},
		{"DrawOfNoTask", change(plenty.KindTaskAssigned, 0, func(d map[string]any) { d["task"] = "tk_none" }), "task tk_none does not exist"},
		{"DrawnTwice", twice(plenty.KindTaskAssigned, 0), "task " + task + " is assigned, not open"},
		{"DrawBeforeTheWindowCloses", func(e *logEdit) int {
			i := e.find(plenty.KindTaskAssigned, 0)
			e.evs[i].time = e.evs[i-1].time
			return i
		}, "task " + task + "'s lottery window runs until"},
		{"DrawWithoutCandidates", func(e *logEdit) int {
			e.drop(e.find(plenty.KindTaskVolunteered, 0))
			e.drop(e.find(plenty.KindTaskVolunteered, 0))
			return e.find(plenty.KindTaskAssigned, 0)
		}, "task " + task + " has no volunteers to draw from"},
		{"DrawWithoutAPublishedKey", func(e *logEdit) int {
			e.data(plenty.KindTermsSet, 0)["draw_key"] = ""
			return e.find(plenty.KindTaskAssigned, 0)
		}, "the hub has published no draw key"},
		{"ProofNotHex", change(plenty.KindTaskAssigned, 0, func(d map[string]any) { d["proof"] = "zz" }),
			"proof must be the hex of an 80-byte RFC 9381 proof"},
		{"DelegateSetsTerms", actedBy(plenty.KindTermsSet, 0, d1), "only the hub sets its terms"},
		{"ClaimWindowOfZero", change(plenty.KindTermsSet, 0, func(d map[string]any) { d["claim_window"] = 0 }),
			"the claim window and the agreement term must be positive"},
		{"AgreementTermOfZero", change(plenty.KindTermsSet, 0, func(d map[string]any) { d["agreement_term"] = 0 }),
			"the claim window and the agreement term must be positive"},
		{"DrawKeyChanged", func(e *logEdit) int {
			t := e.data(plenty.KindTermsSet, 0)
			other, _ := plenty.NewVRFKey(plenty.DrawKeySeed([]byte("another hub's key")))
			return e.then(plenty.KindTermsSet, plenty.ActorHub, plenty.Terms{LotteryWindow: time.Duration(t["lottery_window"].(float64)),
				ClaimWindow: time.Hour, AgreementTerm: time.Hour, DrawKey: hex.EncodeToString(other.Public())})
		}, "was published and never changes"},
		{"DrawKeyNotHex", change(plenty.KindTermsSet, 0, func(d map[string]any) { d["draw_key"] = "abcd" }),
			"draw_key must be the hex of a 32-byte RFC 9381 public key"},
		{"DrawKeyOfSmallOrder", change(plenty.KindTermsSet, 0, func(d map[string]any) { d["draw_key"] = "01" + strings.Repeat("00", 31) }),
			"draw_key is not a usable public key"},
	}
	checkRuleRows(t, base, rows)
}

// Federation events change no projection, but the fold checks that each is
// well formed and that evidence is signed by the log it accuses.
func TestVerifyRefusesResignedLogsThatBreakAFederationRule(t *testing.T) {
	base := drawLog(t, false)
	skey, vkey, err := note.GenerateKey(rand.Reader, "neighbour.test/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(s note.Signer, text string) string {
		msg, err := note.Sign(&note.Note{Text: text}, s)
		if err != nil {
			t.Fatal(err)
		}
		return string(msg)
	}
	checkpointOf := func(origin string) string {
		return Checkpoint{Origin: origin, Size: 3, Root: [32]byte{1}}.String()
	}
	_, otherKey, _ := note.GenerateKey(rand.Reader, "other.test/log")
	witnessKey := func(b byte) string {
		k := append([]byte{0x04}, make([]byte, 32)...)
		k[1] = b
		return "w" + string('a'+rune(b)) + "+01234567+" + base64.StdEncoding.EncodeToString(k)
	}
	neighbours := func() map[string]any {
		return map[string]any{
			"logs":      []any{map[string]any{"key": vkey, "url": "https://neighbour.test"}, map[string]any{"key": otherKey, "url": ""}},
			"witnesses": []any{map[string]any{"name": "wa", "key": witnessKey(0), "url": "https://wa.test"}, map[string]any{"name": "wb", "key": witnessKey(1), "url": ""}},
		}
	}
	evidence := func() map[string]any {
		return map[string]any{"origin": "neighbour.test/log", "log": vkey, "kind": plenty.EvidenceRollback,
			"notes": []any{sign(signer, checkpointOf("neighbour.test/log"))}, "message": "it shrank"}
	}
	// neighboursThen appends a neighbours event as f changes it.
	neighboursThen := func(f func(d map[string]any)) func(e *logEdit) int {
		return func(e *logEdit) int {
			d := neighbours()
			f(d)
			return e.then(plenty.KindFederationNeighbours, plenty.ActorHub, d)
		}
	}
	evidenceThen := func(f func(d map[string]any)) func(e *logEdit) int {
		return func(e *logEdit) int {
			d := evidence()
			f(d)
			return e.then(plenty.KindFederationEvidence, plenty.ActorHub, d)
		}
	}
	at := func(d map[string]any, list string, i int) map[string]any { return d[list].([]any)[i].(map[string]any) }

	// Well-formed federation events pass, so each row breaks only its rule.
	e := editLog(t, base)
	e.then(plenty.KindFederationNeighbours, plenty.ActorHub, neighbours())
	e.then(plenty.KindFederationEvidence, plenty.ActorHub, evidence())
	if _, err := Verify(context.Background(), e.resign(base), &VerifyOptions{Key: base.verifier}); err != nil {
		t.Fatalf("well-formed federation events: %v", err)
	}
	rows := []ruleRow{
		{"DelegateListsNeighbours", func(e *logEdit) int {
			return e.then(plenty.KindFederationNeighbours, plenty.DelegateActor("d-c1"), neighbours())
		}, "only the hub records its neighbours, not delegate:d-c1"},
		{"TooManyNeighbours", neighboursThen(func(d map[string]any) {
			var logs []any
			for range plenty.MaxNeighbours + 1 {
				logs = append(logs, map[string]any{"key": vkey, "url": ""})
			}
			d["logs"] = logs
		}), "logs and witnesses must be at most 128 in all"},
		{"NeighbourKeyMalformed", neighboursThen(func(d map[string]any) { at(d, "logs", 0)["key"] = "neighbour" }),
			"logs[0].key must be a verifier key name+hash+key"},
		{"NeighbourKeyOfAWitness", neighboursThen(func(d map[string]any) { at(d, "logs", 0)["key"] = witnessKey(7) }),
			"logs[0].key must be a verifier key of signature type 0x01"},
		{"NeighbourURLNotHTTP", neighboursThen(func(d map[string]any) { at(d, "logs", 0)["url"] = "ftp://neighbour.test" }),
			"logs[0].url must be an http(s) URL of the hub"},
		{"NeighbourListedTwice", neighboursThen(func(d map[string]any) { at(d, "logs", 1)["key"] = vkey }), "logs[1].key is listed twice"},
		{"WitnessNameWithASpace", neighboursThen(func(d map[string]any) { at(d, "witnesses", 0)["name"] = "w a" }),
			"witnesses[0].name must be a name without spaces"},
		{"WitnessNamedTwice", neighboursThen(func(d map[string]any) { at(d, "witnesses", 1)["name"] = "wa" }), "witnesses[1].name is listed twice"},
		{"WitnessKeyOfALog", neighboursThen(func(d map[string]any) { at(d, "witnesses", 0)["key"] = otherKey }),
			"witnesses[0].key must be a verifier key of signature type 0x04"},
		{"WitnessKeyHashNotHex", neighboursThen(func(d map[string]any) {
			at(d, "witnesses", 0)["key"] = strings.Replace(witnessKey(0), "01234567", "0123456z", 1)
		}), "witnesses[0].key must be a verifier key whose hash is 8 hex digits"},
		{"WitnessURLMalformed", neighboursThen(func(d map[string]any) { at(d, "witnesses", 0)["url"] = "https://" }),
			"witnesses[0].url must be an http(s) URL of the hub"},
		{"WitnessKeyListedTwice", neighboursThen(func(d map[string]any) { at(d, "witnesses", 1)["key"] = witnessKey(0) }),
			"witnesses[1].key is listed twice"},
		{"NeighbourURLGivenTwice", func(e *logEdit) int {
			i := e.then(plenty.KindFederationNeighbours, plenty.ActorHub, neighbours())
			return e.rewrite(i, `"url":""`, `"url":"","url":"https://elsewhere.test"`)
		}, "logs[1].url appears more than once"},
		{"DelegateRecordsEvidence", func(e *logEdit) int {
			return e.then(plenty.KindFederationEvidence, plenty.DelegateActor("d-c1"), evidence())
		}, "only the hub records federation evidence, not delegate:d-c1"},
		{"EvidenceOfNoKind", evidenceThen(func(d map[string]any) { d["kind"] = "rumour" }),
			"kind must be fork, rollback, withholding or split-view"},
		{"EvidenceAgainstAMalformedKey", evidenceThen(func(d map[string]any) { d["log"] = "neighbour" }),
			"log must be a verifier key name+hash+key"},
		{"EvidenceAgainstAKeyWithAWrongHash", evidenceThen(func(d map[string]any) {
			name, rest, _ := strings.Cut(vkey, "+")
			_, key, _ := strings.Cut(rest, "+")
			d["log"] = name + "+00000000+" + key
		}), "log invalid verifier hash"},
		{"EvidenceOfAnotherOrigin", evidenceThen(func(d map[string]any) { d["origin"] = "other.test/log" }),
			`origin must be the log key's name "neighbour.test/log"`},
		{"EvidenceWithoutNotes", evidenceThen(func(d map[string]any) { d["notes"] = []any{} }), "notes must hold one or two signed checkpoints"},
		{"EvidenceOfThreeNotes", evidenceThen(func(d map[string]any) { d["notes"] = append(d["notes"].([]any), "a", "b") }),
			"notes must hold one or two signed checkpoints"},
		{"EvidenceNoteTooLarge", evidenceThen(func(d map[string]any) {
			d["notes"] = []any{strings.Repeat("x", plenty.MaxEvidenceNote+1)}
		}), "notes[0] must be at most 16384 bytes"},
		{"EvidenceNoteSignedByAnotherKey", evidenceThen(func(d map[string]any) { d["notes"] = []any{sign(base.signer, checkpointOf(testOrigin))} }),
			"notes[0] is not a checkpoint signed by the log key"},
		{"EvidenceNoteNotACheckpoint", evidenceThen(func(d map[string]any) { d["notes"] = []any{sign(signer, "hello\n")} }),
			"notes[0] checkpoint must have an origin line"},
		{"EvidenceNoteWithAWordForASize", evidenceThen(func(d map[string]any) {
			d["notes"] = []any{sign(signer, "neighbour.test/log\nthree\n"+strings.Repeat("A", 43)+"=\n")}
		}), `notes[0] checkpoint tree size "three" is not a decimal number`},
		{"EvidenceNoteOfAnotherLog", evidenceThen(func(d map[string]any) { d["notes"] = []any{sign(signer, checkpointOf("other.test/log"))} }),
			`notes[0] is a checkpoint of "other.test/log", not of "neighbour.test/log"`},
		{"EvidenceMessageOf2001Bytes", evidenceThen(func(d map[string]any) { d["message"] = strings.Repeat("m", 2001) }),
			"message must be at most 2000 bytes"},
	}
	checkRuleRows(t, base, rows)
}

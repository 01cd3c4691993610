package exports

import (
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
)

// Councils, items, postings and mandates: every rule of their fold has a
// row here or in TestVerifyRefusesResignedLogsThatBreakARule.
func TestVerifyRefusesResignedLogsThatBreakAPostingOrMandateRule(t *testing.T) {
	base := drawLog(t, false)
	start := base.events[0].Time
	after := func(d time.Duration) string { return start.Add(d).Format(time.RFC3339) }
	day := 24 * time.Hour
	reg := func(id, name, delegate string) plenty.CouncilRegistration {
		return plenty.CouncilRegistration{ID: id, Name: name, Sector: "food", Place: "Riverside", Location: plenty.Location{Lat: 51.45, Lon: -0.1},
			Delegate: plenty.MandateGrant{ID: delegate, Council: id, Label: "Ash", Mandate: "all", Scopes: plenty.AllScopes, ExpiresAt: start.Add(6 * day)}}
	}
	grant := func(id string, scopes []string, cosign plenty.Amount) plenty.MandateGrant {
		return plenty.MandateGrant{ID: id, Council: "c1", Label: "Kim", Mandate: "some", Scopes: scopes, CosignAbove: cosign, ExpiresAt: start.Add(5 * day)}
	}
	// d3 is issued by d-c1 (event 7) and recalled by it (event 8).
	beforeRecall := func(e *logEdit) int { return e.find(plenty.KindDelegateRecalled, 0) }
	d1, d2 := plenty.DelegateActor("d-c1"), plenty.DelegateActor("d-c2")
	rows := []ruleRow{
		// The envelope and the payloads.
		{"TimeRunsBackwards", func(e *logEdit) int {
			i := e.find(plenty.KindOfferWithdrawn, 0)
			e.evs[i].time = e.evs[i-1].time.Add(-time.Second)
			return i
		}, "is before the previous event's"},
		{"WithdrawalBeforeThePosting", func(e *logEdit) int {
			return e.move(e.find(plenty.KindOfferWithdrawn, 0), e.find(plenty.KindOfferPosted, 1))
		}, "offer o2 does not exist"},
		{"UnknownKind", func(e *logEdit) int { return e.then("council.merged", plenty.ActorHub, map[string]any{"id": "c1"}) },
			`unknown event kind "council.merged"`},
		{"FieldTheFoldDerives", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["remaining"] = "1" }),
			`data: json: unknown field "remaining"`},
		{"RepeatedKey", func(e *logEdit) int {
			// Readers that keep the first of two keys would see the offer
			// elsewhere than readers that keep the last.
			return e.rewrite(e.find(plenty.KindOfferPosted, 0), `"lat":51.5`, `"lat":48.85,"lat":51.5`)
		}, "location.lat appears more than once"},
		{"KeySpelledInCapitals", func(e *logEdit) int {
			return e.rewrite(e.find(plenty.KindOfferPosted, 0), `"note":`, `"Note":`)
		}, `Note is not a known field; it is spelled "note"`},
		{"QuantityAsANumber", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["quantity"] = 250 }),
			`amount must be a decimal string`},
		{"QuantityMinusZero", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["quantity"] = "-0" }),
			`amount must not be "-0"`},
		{"QuantityInScientificNotation", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["quantity"] = "2.5e5" }),
			`must be a decimal number such as "80.5", not "2.5e5"`},
		{"QuantityOfSixteenDigits", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["quantity"] = strings.Repeat("9", 16) }),
			"is too large: " + strings.Repeat("9", 16)},
		{"TimeNotRFC3339", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["needed_by"] = "tomorrow" }),
			`data: parsing time "tomorrow"`},
		{"QuantityFinerThanAThousandth", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["quantity"] = "250.0001" }),
			"may have at most 3 digits after the decimal point"},

		// Who acts.
		{"AssemblyPosts", actedBy(plenty.KindOfferPosted, 0, plenty.AssemblyActor("c2")),
			"the assembly key of council c2 may only issue, renew and recall mandates"},
		{"HubPosts", actedBy(plenty.KindOfferPosted, 0, plenty.ActorHub), "hub may not post, withdraw or define items for council c2"},
		{"UnknownDelegatePosts", actedBy(plenty.KindOfferPosted, 0, plenty.DelegateActor("ghost")), "delegate ghost does not exist"},
		{"RecalledDelegateVouches", func(e *logEdit) int {
			return e.then(plenty.KindVolunteerVouched, plenty.DelegateActor("d3"), plenty.VolunteerVouch{Volunteer: "v1", Council: "c1"})
		}, "delegate d3 was recalled"},
		{"ExpiredDelegateVouches", func(e *logEdit) int {
			return e.thenAt(start.Add(8*day), plenty.KindVolunteerVouched, d1, plenty.VolunteerVouch{Volunteer: "v1", Council: "c1"})
		}, "delegate d-c1's mandate expired at"},
		{"DelegateOutsideItsScope", func(e *logEdit) int {
			return e.insert(beforeRecall(e), plenty.KindNeedWithdrawn, plenty.DelegateActor("d3"), plenty.PostingClosed{ID: "n1"})
		}, `"post" scope`},

		// Councils.
		{"DelegateRegistersACouncil", func(e *logEdit) int { return e.then(plenty.KindCouncilRegistered, d1, reg("c3", "Dock Cooks", "d-c3")) },
			"delegate:d-c1 may not register councils"},
		{"CouncilWithoutID", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) { d["id"] = "" }), "id is required"},
		{"BlankCouncilName", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) { d["name"] = "  " }), "name is required"},
		{"SectorOf101Characters", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) { d["sector"] = strings.Repeat("s", 101) }),
			"sector must be at most 100 characters"},
		{"PlaceOf201Characters", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) { d["place"] = strings.Repeat("p", 201) }),
			"place must be at most 200 characters"},
		{"LongitudeOutOfRange", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) { d["location"] = map[string]any{"lat": 0, "lon": 181} }),
			"location.lon must be between -180 and 180"},
		{"FirstDelegateOfAnotherCouncil", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) {
			d["delegate"].(map[string]any)["council"] = "c1"
		}), `delegate.council must be the council's id "c2"`},
		{"FirstDelegateWithoutEveryScope", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) {
			d["delegate"].(map[string]any)["scopes"] = []any{"post", "accept"}
		}), "delegate.scopes must be every scope"},
		{"FirstDelegateWithoutID", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) { d["delegate"].(map[string]any)["id"] = "" }),
			"delegate.id is required"},
		{"FirstDelegateLabelOf101Characters", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) {
			d["delegate"].(map[string]any)["label"] = strings.Repeat("l", 101)
		}), "delegate.label must be at most 100 characters"},
		{"FirstDelegateMandateOf4001Characters", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) {
			d["delegate"].(map[string]any)["mandate"] = strings.Repeat("m", 4001)
		}), "delegate.mandate must be at most 4000 characters"},
		{"FirstDelegateExpiredAlready", change(plenty.KindCouncilRegistered, 1, func(d map[string]any) {
			d["delegate"].(map[string]any)["expires_at"] = after(0)
		}), "delegate.expires_at must be in the future"},
		{"CouncilReRegistered", func(e *logEdit) int {
			return e.then(plenty.KindCouncilRegistered, plenty.ActorPublic, reg("c1", "Dock Cooks", "d-c3"))
		}, `council id "c1" is taken`},
		{"FirstDelegateIDTaken", func(e *logEdit) int {
			return e.then(plenty.KindCouncilRegistered, plenty.ActorPublic, reg("c3", "Dock Cooks", "d-c1"))
		}, `delegate id "d-c1" is taken`},
		{"CouncilNameTakenInThePlace", func(e *logEdit) int {
			return e.then(plenty.KindCouncilRegistered, plenty.ActorPublic, reg("c3", " riverside  BAKERS", "d-c3"))
		}, `a council named "Riverside Bakers" is already registered in "Riverside" (c1)`},

		// Items.
		{"ItemCodeNotASlug", change(plenty.KindItemDefined, 0, func(d map[string]any) { d["code"] = "Wheat Flour" }), "code must be a slug"},
		{"ItemCodeOf65Characters", change(plenty.KindItemDefined, 0, func(d map[string]any) { d["code"] = strings.Repeat("w", 65) }),
			"code must be a slug"},
		{"BlankItemName", change(plenty.KindItemDefined, 0, func(d map[string]any) { d["name"] = "" }), "name is required"},
		{"ItemOfNoDimension", change(plenty.KindItemDefined, 0, func(d map[string]any) { d["dimension"] = "weight" }),
			"dimension must be one of mass, volume, count, time, length, area"},
		{"ItemDefinedTwice", twice(plenty.KindItemDefined, 0), "item wheat-flour is already defined"},
		{"PublicDefinesAnItem", actedBy(plenty.KindItemDefined, 0, plenty.ActorPublic), "public may not define items"},
		{"DelegateWithoutPostDefinesAnItem", func(e *logEdit) int {
			return e.insert(beforeRecall(e), plenty.KindItemDefined, plenty.DelegateActor("d3"),
				plenty.ItemDefinition{Code: "rye", Name: "Rye", Dimension: plenty.Mass, Unit: "kg"})
		}, `delegate d3's mandate does not include the "post" scope`},

		// Postings.
		{"OfferOfAnItemNotInTheCatalog", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["item"] = "rye" }),
			`item is not in the catalog: "rye"`},
		{"OfferWithoutID", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["id"] = "" }), "id is required"},
		{"QuantityAboveTheMaximum", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["quantity"] = (plenty.MaxAmount + 1).String() }),
			"quantity must be greater than 0 and at most"},
		{"NeedLocationOutOfRange", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["location"] = map[string]any{"lat": -90.5, "lon": 0} }),
			"location.lat must be between -90 and 90"},
		{"DeliveryOfNoDistance", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["max_distance_km"] = 0 }),
			"max_distance_km must be greater than 0 and at most 20000"},
		{"NoteWithAControlCharacter", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["note"] = "bell\x07" }),
			"note must be printable text without control characters"},
		{"NeedNoteOf2001Characters", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["note"] = strings.Repeat("é", 2001) }),
			"note must be at most 2000 characters"},
		{"OfferExpiredWhenPosted", change(plenty.KindOfferPosted, 0, func(d map[string]any) {
			d["expires_at"] = after(0)
			d["available_until"] = after(0)
		}), "expires_at must be in the future"},
		{"NeedForAYearAndMore", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["expires_at"] = after(367 * day) }),
			"expires_at must be at most 366 days"},
		{"OfferUnavailableWhenPosted", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["available_until"] = after(0) }),
			"available_until must be in the future"},
		{"OfferAvailableUntilBeforeFrom", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["available_from"] = after(80 * time.Hour) }),
			"available_until must be after available_from"},
		{"OfferAvailableAfterItExpires", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["available_until"] = after(73 * time.Hour) }),
			"available_until must not be after expires_at"},
		{"OfferAvailableFromBefore2000", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["available_from"] = "1999-12-31T00:00:00Z" }),
			"available_from must be a time between the years 2000 and 9999"},
		{"NegativeSplit", change(plenty.KindOfferPosted, 0, func(d map[string]any) { d["min_split"] = "-1" }),
			"min_split must be between 0 and the quantity"},
		{"PriorityOfZero", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["priority"] = 0 }),
			"priority must be a whole number from 1"},
		{"NeededInThePast", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["needed_by"] = after(0) }),
			"needed_by must be in the future"},
		{"NeededAfterItExpires", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["needed_by"] = after(49 * time.Hour) }),
			"needed_by must not be after expires_at"},
		{"PostingForNoCouncil", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["council"] = "c9" }), "council c9 does not exist"},
		{"OfferIDReposted", twice(plenty.KindOfferPosted, 0), `posting id "o1" is taken`},
		{"NeedUnderAnOffersID", change(plenty.KindNeedPosted, 0, func(d map[string]any) { d["id"] = "o1" }), `posting id "o1" is taken`},

		// Closing postings.
		{"DelegateRecordsAnExpiry", actedBy(plenty.KindNeedExpired, 0, d1), "only the hub records expiries"},
		{"WithdrawalOfNoOffer", change(plenty.KindOfferWithdrawn, 0, func(d map[string]any) { d["id"] = "o9" }), "offer o9 does not exist"},
		{"WithdrawalOfNoNeed", func(e *logEdit) int { return e.then(plenty.KindNeedWithdrawn, d1, plenty.PostingClosed{ID: "n9"}) },
			"need n9 does not exist"},
		{"OfferExpiredBeforeItsTime", func(e *logEdit) int {
			return e.then(plenty.KindOfferExpired, plenty.ActorHub, plenty.PostingClosed{ID: "o1"})
		}, "offer o1 has not run out yet"},
		{"NeedExpiredBeforeItsTime", func(e *logEdit) int {
			i := e.find(plenty.KindNeedExpired, 0)
			e.evs[i].time = e.evs[i-1].time
			return i
		}, "need n1 has not run out yet"},
		{"WithdrawalOfAClosedOffer", twice(plenty.KindOfferWithdrawn, 0), "o2 is withdrawn, not open"},
		{"ExpiryOfAClosedNeed", twice(plenty.KindNeedExpired, 0), "n1 is expired, not open"},
		{"WithdrawalForAnotherCouncil", actedBy(plenty.KindOfferWithdrawn, 0, d1), "delegate d-c1 acts for council c1, not c2"},

		// Issuing mandates.
		{"MandateForNoCouncil", change(plenty.KindDelegateIssued, 0, func(d map[string]any) { d["council"] = "c9" }), "council c9 does not exist"},
		{"MandateByAnotherCouncil", actedBy(plenty.KindDelegateIssued, 0, d2), "delegate d-c2 acts for council c2, not c1"},
		{"MandateWithoutScopes", change(plenty.KindDelegateIssued, 0, func(d map[string]any) { d["scopes"] = []any{} }),
			"scopes must name at least one of post, accept, delegate"},
		{"ScopeNamedTwice", change(plenty.KindDelegateIssued, 0, func(d map[string]any) { d["scopes"] = []any{"accept", "accept"} }),
			`scopes[1] names "accept" twice`},
		{"ScopesOutOfOrder", change(plenty.KindDelegateIssued, 0, func(d map[string]any) { d["scopes"] = []any{"accept", "post"} }),
			"scopes must be listed in the order post, accept, delegate"},
		{"NegativeCosignThreshold", change(plenty.KindDelegateIssued, 0, func(d map[string]any) { d["cosign_above"] = "-1" }),
			"cosign_above must be 0 (no co-signature needed) or a positive quantity"},
		{"MandateOfEightDays", change(plenty.KindDelegateIssued, 0, func(d map[string]any) { d["expires_at"] = after(8 * day) }),
			"expires_at must be at most 7 days"},
		{"MandateWithoutLabel", change(plenty.KindDelegateIssued, 0, func(d map[string]any) { d["label"] = "" }), "label is required"},
		{"MandateIDTaken", change(plenty.KindDelegateIssued, 0, func(d map[string]any) { d["id"] = "d-c2" }), `delegate id "d-c2" is taken`},
		{"MandateByADelegateWithoutTheDelegateScope", func(e *logEdit) int {
			return e.insert(beforeRecall(e), plenty.KindDelegateIssued, plenty.DelegateActor("d3"), grant("d4", []string{"accept"}, 100_000))
		}, `delegate d3's mandate does not include the "delegate" scope`},
		{"MandateGrantsAScopeItsIssuerLacks", func(e *logEdit) int {
			e.then(plenty.KindDelegateIssued, d1, grant("d5", []string{"accept", "delegate"}, 0))
			return e.then(plenty.KindDelegateIssued, plenty.DelegateActor("d5"), grant("d6", []string{"post"}, 0))
		}, `delegate d5 may not grant the "post" scope, which its own mandate lacks`},
		{"MandateWeakensItsIssuersThreshold", func(e *logEdit) int {
			e.then(plenty.KindDelegateIssued, d1, grant("d5", []string{"accept", "delegate"}, 100_000))
			return e.then(plenty.KindDelegateIssued, plenty.DelegateActor("d5"), grant("d6", []string{"accept"}, 0))
		}, "a mandate's co-sign threshold may not be weaker than its issuer's"},

		// Recalls and renewals.
		{"RecallInAnotherCouncil", change(plenty.KindDelegateRecalled, 0, func(d map[string]any) { d["council"] = "c2" }),
			"council c2 has no delegate d3"},
		{"RecallByADelegateOutsideTheChain", func(e *logEdit) int {
			i := beforeRecall(e)
			e.insert(i, plenty.KindDelegateIssued, plenty.AssemblyActor("c1"), grant("d5", plenty.AllScopes, 0))
			e.evs[i+1].actor = plenty.DelegateActor("d5")
			return i + 1
		}, "delegate d5 did not issue d3, directly or through others"},
		{"RecalledTwice", twice(plenty.KindDelegateRecalled, 0), "delegate d3 was already recalled"},
		{"RecallOfARunOutMandate", func(e *logEdit) int {
			return e.thenAt(start.Add(8*day), plenty.KindDelegateRecalled, plenty.AssemblyActor("c2"), plenty.MandateRecall{Council: "c2", Delegate: "d-c2"})
		}, "delegate d-c2's mandate already ran out at"},
		{"RenewalInAnotherCouncil", func(e *logEdit) int {
			return e.then(plenty.KindDelegateRenewed, d2, plenty.MandateRenewal{Council: "c2", Delegate: "d3", ExpiresAt: start.Add(3 * day)})
		}, "council c2 has no delegate d3"},
		{"DelegateRenewsItself", func(e *logEdit) int {
			return e.then(plenty.KindDelegateRenewed, d1, plenty.MandateRenewal{Council: "c1", Delegate: "d-c1", ExpiresAt: start.Add(7*day + time.Hour)})
		}, "no delegate renews its own mandate"},
		{"RenewalOfARecalledMandate", func(e *logEdit) int {
			return e.then(plenty.KindDelegateRenewed, d1, plenty.MandateRenewal{Council: "c1", Delegate: "d3", ExpiresAt: start.Add(3 * day)})
		}, "delegate d3's mandate is not in force; issue a new one"},
		{"RenewalForEightDays", func(e *logEdit) int {
			return e.insert(beforeRecall(e), plenty.KindDelegateRenewed, d1, plenty.MandateRenewal{Council: "c1", Delegate: "d3", ExpiresAt: start.Add(8 * day)})
		}, "expires_at must be at most 7 days"},
		{"RenewalOutlastsTheMandateAbove", func(e *logEdit) int {
			return e.insert(beforeRecall(e), plenty.KindDelegateRenewed, plenty.AssemblyActor("c1"),
				plenty.MandateRenewal{Council: "c1", Delegate: "d3", ExpiresAt: start.Add(7*day + time.Minute)})
		}, "a mandate may not outlast d-c1's, above it"},

		// The assembly key and the mandates' sunset.
		{"KeyReplacedForNoCouncil", func(e *logEdit) int {
			return e.then(plenty.KindAssemblyReplaced, plenty.AssemblyActor("c9"), plenty.AssemblyKeyReplaced{Council: "c9"})
		}, "council c9 does not exist"},
		{"DelegateReplacesTheAssemblyKey", func(e *logEdit) int {
			return e.then(plenty.KindAssemblyReplaced, d1, plenty.AssemblyKeyReplaced{Council: "c1"})
		}, "only the assembly of council c1 replaces its key"},
		{"DelegateRecordsAMandatesEnd", func(e *logEdit) int {
			return e.thenAt(start.Add(8*day), plenty.KindMandateExpired, d2, plenty.MandateExpired{Delegate: "d-c1"})
		}, "only the hub records expiries"},
		{"EndOfNoMandate", func(e *logEdit) int {
			return e.then(plenty.KindMandateExpired, plenty.ActorHub, plenty.MandateExpired{Delegate: "ghost"})
		}, "delegate ghost does not exist"},
		{"EndOfARecalledMandate", func(e *logEdit) int {
			return e.then(plenty.KindMandateExpired, plenty.ActorHub, plenty.MandateExpired{Delegate: "d3"})
		}, "delegate d3's mandate already ended"},
		{"MandateEndedBeforeItsTime", func(e *logEdit) int {
			return e.then(plenty.KindMandateExpired, plenty.ActorHub, plenty.MandateExpired{Delegate: "d-c1"})
		}, "delegate d-c1's mandate runs until"},
	}
	checkRuleRows(t, base, rows)
}

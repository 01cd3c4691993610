package plenty

import "regexp"

// Item is a kind of good or service [vf:ResourceSpecification].
type Item struct {
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Dimension Dimension `json:"dimension"`
	Unit      string    `json:"unit"` // the dimension's base unit
	DefinedBy string    `json:"defined_by,omitempty"`
}

var itemCode = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidItemCode reports whether code is a slug such as "wheat-flour", of at
// most 64 characters.
func ValidItemCode(code string) bool {
	return len(code) <= 64 && itemCode.MatchString(code)
}

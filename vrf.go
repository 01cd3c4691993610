package plenty

import (
	"crypto/sha512"
	"errors"

	"filippo.io/edwards25519"
)

// A verifiable random function, ECVRF-EDWARDS25519-SHA512-TAI of RFC 9381
// (suite 0x03). Its output for an input is unique to the key: the holder of
// the secret key cannot choose among outputs, and anyone holding the public
// key checks the proof. The lottery draws with it (see draw.go).

const (
	vrfSuite     = 0x03
	vrfProofSize = 32 + 16 + 32 // Gamma, c, s
)

// VRFKey is a VRF key pair made from a 32-byte seed as RFC 8032 makes an
// Ed25519 key (section 5.1.5).
type VRFKey struct {
	seed   [32]byte
	x      *edwards25519.Scalar
	public []byte
}

// NewVRFKey derives a key pair from a 32-byte secret seed.
func NewVRFKey(seed []byte) (*VRFKey, error) {
	if len(seed) != 32 {
		return nil, errors.New("vrf: a seed has 32 bytes")
	}
	k := &VRFKey{}
	copy(k.seed[:], seed)
	h := sha512.Sum512(seed)
	x, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		return nil, err
	}
	k.x = x
	k.public = new(edwards25519.Point).ScalarBaseMult(x).Bytes()
	return k, nil
}

// Public returns the 32-byte public key.
func (k *VRFKey) Public() []byte { return append([]byte(nil), k.public...) }

// Prove returns the 80-byte proof for alpha and the 64-byte output.
func (k *VRFKey) Prove(alpha []byte) (proof, beta []byte) {
	H, err := vrfEncodeToCurve(k.public, alpha)
	if err != nil {
		// Try-and-increment fails with probability 2^-256.
		panic("vrf: " + err.Error())
	}
	hString := H.Bytes()
	gamma := new(edwards25519.Point).ScalarMult(k.x, H)
	hs := sha512.Sum512(k.seed[:])
	nonce := sha512.New()
	nonce.Write(hs[32:])
	nonce.Write(hString)
	kScalar, _ := edwards25519.NewScalar().SetUniformBytes(nonce.Sum(nil))
	U := new(edwards25519.Point).ScalarBaseMult(kScalar)
	V := new(edwards25519.Point).ScalarMult(kScalar, H)
	c := vrfChallenge(k.public, hString, gamma.Bytes(), U.Bytes(), V.Bytes())
	cScalar := challengeScalar(c)
	s := edwards25519.NewScalar().MultiplyAdd(cScalar, k.x, kScalar)
	proof = make([]byte, 0, vrfProofSize)
	proof = append(proof, gamma.Bytes()...)
	proof = append(proof, c...)
	proof = append(proof, s.Bytes()...)
	return proof, vrfHash(gamma)
}

// VerifyVRF checks proof for alpha under the 32-byte public key and
// returns the 64-byte output. It fails on a malformed key or proof, a key
// of small order, or a proof that does not verify.
func VerifyVRF(public, alpha, proof []byte) ([]byte, error) {
	Y, err := vrfPublicKey(public)
	if err != nil {
		return nil, err
	}
	if len(proof) != vrfProofSize {
		return nil, errors.New("vrf: the proof must have 80 bytes")
	}
	gamma, err := new(edwards25519.Point).SetBytes(proof[:32])
	if err != nil || !canonicalPoint(gamma, proof[:32]) {
		return nil, errors.New("vrf: the proof's Gamma is not a point")
	}
	c := proof[32:48]
	s, err := edwards25519.NewScalar().SetCanonicalBytes(proof[48:])
	if err != nil {
		return nil, errors.New("vrf: the proof's s is not a reduced scalar")
	}
	H, err := vrfEncodeToCurve(public, alpha)
	if err != nil {
		return nil, err
	}
	cScalar := challengeScalar(c)
	negC := edwards25519.NewScalar().Negate(cScalar)
	// U = s·B − c·Y, V = s·H − c·Gamma
	U := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(negC, Y, s)
	V := new(edwards25519.Point).VarTimeMultiScalarMult([]*edwards25519.Scalar{s, negC}, []*edwards25519.Point{H, gamma})
	want := vrfChallenge(public, H.Bytes(), proof[:32], U.Bytes(), V.Bytes())
	if string(want) != string(c) {
		return nil, errors.New("vrf: the proof does not verify")
	}
	return vrfHash(gamma), nil
}

// vrfPublicKey decodes a public key, refusing one of the wrong length, one
// that is not the canonical encoding of a point, and one of small order.
func vrfPublicKey(public []byte) (*edwards25519.Point, error) {
	if len(public) != 32 {
		return nil, errors.New("vrf: the public key must have 32 bytes")
	}
	Y, err := new(edwards25519.Point).SetBytes(public)
	if err != nil || !canonicalPoint(Y, public) {
		return nil, errors.New("vrf: the public key is not a point")
	}
	if smallOrder(Y) {
		return nil, errors.New("vrf: the public key has small order")
	}
	return Y, nil
}

// canonicalPoint reports whether enc is the canonical encoding of p
// (RFC 8032 refuses y ≥ p and x = 0 with the sign bit set).
func canonicalPoint(p *edwards25519.Point, enc []byte) bool {
	return string(p.Bytes()) == string(enc)
}

func smallOrder(p *edwards25519.Point) bool {
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1
}

// vrfEncodeToCurve is ECVRF_encode_to_curve_try_and_increment with the
// public key as salt.
func vrfEncodeToCurve(public, alpha []byte) (*edwards25519.Point, error) {
	for ctr := 0; ctr < 256; ctr++ {
		h := sha512.New()
		h.Write([]byte{vrfSuite, 0x01})
		h.Write(public)
		h.Write(alpha)
		h.Write([]byte{byte(ctr), 0x00})
		sum := h.Sum(nil)
		p, err := new(edwards25519.Point).SetBytes(sum[:32])
		if err != nil || !canonicalPoint(p, sum[:32]) {
			continue
		}
		return p.MultByCofactor(p), nil
	}
	return nil, errors.New("vrf: no point found for the input")
}

func vrfChallenge(points ...[]byte) []byte {
	h := sha512.New()
	h.Write([]byte{vrfSuite, 0x02})
	for _, p := range points {
		h.Write(p)
	}
	h.Write([]byte{0x00})
	return h.Sum(nil)[:16]
}

func challengeScalar(c []byte) *edwards25519.Scalar {
	var wide [64]byte
	copy(wide[:], c)
	s, _ := edwards25519.NewScalar().SetUniformBytes(wide[:])
	return s
}

func vrfHash(gamma *edwards25519.Point) []byte {
	h := sha512.New()
	h.Write([]byte{vrfSuite, 0x03})
	h.Write(new(edwards25519.Point).MultByCofactor(gamma).Bytes())
	h.Write([]byte{0x00})
	return h.Sum(nil)
}

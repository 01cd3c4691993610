package plenty

import (
	"encoding/hex"
	"testing"
)

// RFC 9381, Appendix B.3: ECVRF-EDWARDS25519-SHA512-TAI, examples 16–18.
var vrfVectors = []struct{ name, sk, pk, alpha, pi, beta string }{
	{"Example16", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		"8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f26f8a57ccaed74ee1b190bed1f479d9727d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805",
		"90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae"},
	{"Example17", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
		"f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed5933bf0864a62558b3ed7f2fea45c92a465301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02",
		"eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031"},
	{"Example18", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
		"9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf8096bb474e53895c362d8628ee9f9ea3c0e52c7a5c691b6c18c9979866568add7a2d41b00b05081ed0f58ee5e31b3a970e",
		"645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c452118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f"},
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVRFVectors(t *testing.T) {
	for _, v := range vrfVectors {
		t.Run(v.name, func(t *testing.T) {
			k, err := NewVRFKey(unhex(t, v.sk))
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(k.Public()); got != v.pk {
				t.Fatalf("public key %s, want %s", got, v.pk)
			}
			pi, beta := k.Prove(unhex(t, v.alpha))
			if got := hex.EncodeToString(pi); got != v.pi {
				t.Fatalf("proof %s, want %s", got, v.pi)
			}
			if got := hex.EncodeToString(beta); got != v.beta {
				t.Fatalf("beta %s, want %s", got, v.beta)
			}
			out, err := VerifyVRF(unhex(t, v.pk), unhex(t, v.alpha), unhex(t, v.pi))
			if err != nil || hex.EncodeToString(out) != v.beta {
				t.Fatalf("verify: %x, %v", out, err)
			}
		})
	}
}

func TestVRFRefuses(t *testing.T) {
	v := vrfVectors[0]
	pk, pi := unhex(t, v.pk), unhex(t, v.pi)
	flipC := append([]byte(nil), pi...)
	flipC[32] ^= 1
	bigS := append(append([]byte(nil), pi[:48]...), make([]byte, 32)...)
	for i := range bigS[48:] {
		bigS[48+i] = 0xff
	}
	for _, c := range []struct {
		name         string
		pk, alpha, p []byte
	}{
		{"TamperedChallenge", pk, nil, flipC},
		{"WrongInput", pk, []byte{0}, pi},
		{"IdentityKey", append([]byte{1}, make([]byte, 31)...), nil, pi},
		{"UnreducedS", pk, nil, bigS},
		{"ShortProof", pk, nil, pi[:79]},
		{"OtherKey", unhex(t, vrfVectors[1].pk), nil, pi},
	} {
		t.Run(c.name, func(t *testing.T) {
			if out, err := VerifyVRF(c.pk, c.alpha, c.p); err == nil {
				t.Fatalf("verified with output %x", out)
			}
		})
	}
}

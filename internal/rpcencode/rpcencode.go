// Package rpcencode is the percent-encoding of Alibaba Cloud's RPC signature
// v1 (RFC 3986 unreserved characters kept, every other byte of the UTF-8
// string as %XX in upper-case hex). The emulator signs with it, and the core
// and the test secret scanner use it to recognise a secret that a server
// message echoes inside a signed string. It differs from url.QueryEscape:
// space is %20, and '*' and '~' are treated per RFC 3986.
package rpcencode

import "strings"

// Encode percent-encodes s for an RPC v1 string to sign.
func Encode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

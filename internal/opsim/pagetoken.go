package opsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// Page tokens are unpadded URL-safe base64 of
//
//	version(1) | filter(1) | uvarint(offset) | mac(8)
//
// where offset is the index in the stable user order where the next page
// starts and mac is a truncated HMAC-SHA256 under a per-server key, so
// garbage and tokens from other servers are rejected.

const (
	pageTokenVersion = 1
	pageTokenMACSize = 8
)

// listFilter is a parsed list filter.
type listFilter byte

const (
	filterAll listFilter = iota
	filterActive
	filterSuspended
)

// parseFilter parses the filter query value (already URL-decoded).
func parseFilter(v string) (listFilter, bool) {
	switch v {
	case "":
		return filterAll, true
	case "user.isActive()":
		return filterActive, true
	case "user.isSuspended()":
		return filterSuspended, true
	}
	return 0, false
}

// matches reports whether a user in the given state passes the filter.
func (f listFilter) matches(state string) bool {
	switch f {
	case filterActive:
		return state == StateActive
	case filterSuspended:
		return state == StateSuspended
	}
	return true
}

var errBadPageToken = errors.New("bad page token")

// encodePageToken mints a page token.
func encodePageToken(key []byte, f listFilter, offset int) string {
	b := make([]byte, 0, 2+binary.MaxVarintLen64+pageTokenMACSize)
	b = append(b, pageTokenVersion, byte(f))
	b = binary.AppendUvarint(b, uint64(offset))
	m := hmac.New(sha256.New, key)
	m.Write(b)
	b = m.Sum(b)[:len(b)+pageTokenMACSize]
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken checks a page token and returns its filter and offset.
func decodePageToken(key []byte, tok string) (listFilter, int, error) {
	if len(tok) > 64 {
		return 0, 0, errBadPageToken
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 3+pageTokenMACSize {
		return 0, 0, errBadPageToken
	}
	payload, mac := b[:len(b)-pageTokenMACSize], b[len(b)-pageTokenMACSize:]
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	if !hmac.Equal(m.Sum(nil)[:pageTokenMACSize], mac) || payload[0] != pageTokenVersion {
		return 0, 0, errBadPageToken
	}
	off, n := binary.Uvarint(payload[2:])
	if n <= 0 || 2+n != len(payload) || off > 1<<31 {
		return 0, 0, errBadPageToken
	}
	return listFilter(payload[1]), int(off), nil
}

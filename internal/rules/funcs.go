package rules

import (
	"fmt"
	"net/netip"
	"path"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/event"
)

// catalog is the read-only data a Set's helper functions use: named lists,
// parsed CIDR lists, time zones and count() windows, all prepared at load.
type catalog struct {
	lists     map[string][]string
	listSets  map[string]map[string]struct{} // lower-cased members
	prefixes  map[string][]netip.Prefix      // by list name or literal CIDR/IP
	locations map[string]*time.Location      // by zone name
	windows   map[string]time.Duration       // by window literal
	ringSize  map[string]int                 // by count() key
	// envFields are the data entries the rules' expressions read.
	envFields envFields
	state     *State
	// sigma holds the prepared calls of the Sigma functions (see
	// funcs_sigma.go); nil when no rule calls one.
	sigma *sigmaSites
}

// binding ties an env to the evaluation it serves: the event being
// evaluated and the count() keys already recorded for it.
type binding struct {
	cat     *catalog
	ev      *event.Event
	evHash  uint64
	hashed  bool
	counted []string
	// ip is the last address string the IP helpers parsed in this
	// evaluation (rules test src_ip again and again), addr and addrOK the
	// result.
	ip     string
	addr   netip.Addr
	addrOK bool
	// paths caches the values the Sigma calls found in the event's raw
	// (see pathCache); shared by the copies of the binding.
	paths *pathCache
}

// reset binds b to ev; a nil ev releases the last event.
func (b *binding) reset(ev *event.Event) {
	b.ev = ev
	b.hashed = false
	b.counted = b.counted[:0]
	b.ip, b.addr, b.addrOK = "", netip.Addr{}, false
	b.paths = b.paths.bind(ev)
}

// parseAddr parses an IP address, unmapping IPv4-mapped IPv6 addresses;
// ok is false when ip is not an address. It remembers the last string
// parsed in the evaluation.
func (b *binding) parseAddr(ip string) (addr netip.Addr, ok bool) {
	if ip == b.ip && ip != "" {
		return b.addr, b.addrOK
	}
	a, err := netip.ParseAddr(ip)
	b.ip, b.addr, b.addrOK = ip, a.Unmap(), err == nil
	return b.addr, b.addrOK
}

func (b *binding) eventHash() uint64 {
	if !b.hashed {
		b.evHash = b.cat.state.eventHash(b.ev.EventID)
		b.hashed = true
	}
	return b.evHash
}

// newEnv returns an environment whose helper functions read the catalog
// and the event bound through the returned binding.
func newEnv(cat *catalog) (env, *binding) {
	b := &binding{cat: cat}
	e := env{}
	e.fill(&event.Event{}, allEnvFields)
	for name, fn := range b.funcs() {
		e[name] = fn
	}
	e[bindingName] = b
	return e, b
}

// funcs returns the helper functions held in an environment, bound to b.
// Their signatures are among those expr calls without reflection (see
// expr's vm/func_types); TestHelpersAvoidReflection checks it. Helpers of
// other signatures are the callHelpers.
func (b *binding) funcs() map[string]any {
	return map[string]any{
		"in_cidr":       b.inCIDR,
		"is_private_ip": b.isPrivateIP,
		"is_public_ip":  b.isPublicIP,
		"country_in":    b.countryIn,
		"has_suffix":    strings.HasSuffix,
		"has_prefix":    strings.HasPrefix,
		"email_domain":  emailDomain,
		"glob":          glob,
		"list":          b.list,
		"in_list":       b.inList,
		"local_hour":    b.localHour,
		"risk_at_least": b.riskAtLeast,
	}
}

// bindingName is the environment entry holding the binding. Rule authors
// cannot name it (it is not in the environment expressions are checked
// against); calls of callHelpers receive it as a hidden first argument
// (see bindCalls).
const bindingName = "$binding"

// callHelper is a helper function whose signature expr would call through
// reflection if it were an environment entry. It is registered with
// expr.Function instead: expressions are checked against types at load and
// call fn, which gets the binding and the arguments as written.
type callHelper struct {
	name  string
	types []any
	fn    func(b *binding, args []any) any
}

// callHelpers are the helper functions registered with expr.Function,
// the Sigma functions (funcs_sigma.go) among them.
var callHelpers = append([]callHelper{
	{"hour_in", []any{new(func(string, int, int) bool)}, func(b *binding, a []any) any {
		return b.hourIn(a[0].(string), a[1].(int), a[2].(int))
	}},
	{"weekday_in", []any{new(func(string, ...string) bool)}, func(b *binding, a []any) any {
		var buf [7]string
		days := buf[:0]
		for _, d := range a[1:] {
			days = append(days, d.(string))
		}
		return b.weekdayIn(a[0].(string), days...)
	}},
	{"count", []any{new(func(string, string) int)}, func(b *binding, a []any) any {
		return b.count(a[0].(string), a[1].(string))
	}},
}, sigmaHelpers...)

// isCallHelper reports whether name is one of callHelpers.
func isCallHelper(name string) bool {
	for _, h := range callHelpers {
		if h.name == name {
			return true
		}
	}
	return false
}

// function returns h as an expr function: its first argument is the
// binding bindCalls passes.
func (h callHelper) function() func(args ...any) (any, error) {
	return func(args ...any) (any, error) { return h.fn(args[0].(*binding), args[1:]), nil }
}

// inCIDR reports whether ip is inside cidr, which is a CIDR ("10.0.0.0/8"),
// a single address, or the name of a list of those.
func (b *binding) inCIDR(ip, cidr string) bool {
	addr, ok := b.parseAddr(ip)
	if !ok {
		return false
	}
	prefixes, ok := b.cat.prefixes[cidr]
	if !ok {
		p, err := parsePrefix(cidr)
		if err != nil {
			panic(fmt.Errorf("in_cidr: %q is neither a CIDR nor a list name", cidr))
		}
		return p.Contains(addr)
	}
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// parsePrefix parses a CIDR or a single address (as a /32 or /128).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// isPrivateIP reports whether ip is a private (RFC 1918, RFC 4193),
// loopback, link-local or unspecified address.
func (b *binding) isPrivateIP(ip string) bool {
	a, ok := b.parseAddr(ip)
	if !ok {
		return false
	}
	return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified()
}

// cgnat is the shared address space of RFC 6598, not routable publicly.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// isPublicIP reports whether ip is a valid global unicast address that is
// neither private nor shared (CGNAT).
func (b *binding) isPublicIP(ip string) bool {
	a, ok := b.parseAddr(ip)
	if !ok {
		return false
	}
	return a.IsGlobalUnicast() && !a.IsPrivate() && !cgnat.Contains(a)
}

// countryIn reports whether country is in the named list, case-insensitively.
func (b *binding) countryIn(country, list string) bool {
	return b.inList(country, list)
}

// inList reports whether value is a member of the named list,
// case-insensitively.
func (b *binding) inList(value, list string) bool {
	set, ok := b.cat.listSets[list]
	if !ok {
		panic(fmt.Errorf("unknown list %q", list))
	}
	if value == "" {
		return false
	}
	if _, ok := set[value]; ok {
		return true
	}
	var buf [64]byte
	if len(value) <= len(buf) && isASCII(value) {
		// Lower-case without allocating (the conversion in the index
		// expression does not copy).
		lower := buf[:len(value)]
		for i := range len(value) {
			c := value[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower[i] = c
		}
		_, ok = set[string(lower)]
		return ok
	}
	_, ok = set[strings.ToLower(value)]
	return ok
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// list returns the members of the named list.
func (b *binding) list(name string) []string {
	l, ok := b.cat.lists[name]
	if !ok {
		panic(fmt.Errorf("unknown list %q", name))
	}
	return l
}

// emailDomain returns the lower-cased part of email after the last "@", or
// "" when there is none.
func emailDomain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	d := email[i+1:]
	for j := 0; j < len(d); j++ {
		if c := d[j]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(d)
		}
	}
	return d
}

// glob reports whether s matches the path.Match pattern, case-insensitively
// ("*@contractors.example.com").
func glob(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok && !strings.ContainsAny(suffix, "*?[\\") {
		// The common "*@domain" form: the star matches any run of
		// characters other than '/'.
		return strings.HasSuffix(s, suffix) && !strings.Contains(s[:len(s)-len(suffix)], "/")
	}
	ok, err := path.Match(pattern, s)
	if err != nil {
		panic(fmt.Errorf("glob: bad pattern %q", pattern))
	}
	return ok
}

func (b *binding) location(tz string) *time.Location {
	loc, ok := b.cat.locations[tz]
	if !ok {
		panic(fmt.Errorf("unknown time zone %q", tz))
	}
	return loc
}

// localHour returns the hour (0-23) of the event time in time zone tz.
func (b *binding) localHour(tz string) int {
	return b.ev.Time.In(b.location(tz)).Hour()
}

// hourIn reports whether the event's local hour in tz is in [from, to); when
// from > to the range wraps past midnight (22, 6 is 22:00 to 05:59).
func (b *binding) hourIn(tz string, from, to int) bool {
	h := b.localHour(tz)
	if from <= to {
		return h >= from && h < to
	}
	return h >= from || h < to
}

// weekdayIn reports whether the event's local weekday in tz is one of days
// ("mon", "Monday", case-insensitive).
func (b *binding) weekdayIn(tz string, days ...string) bool {
	wd := b.ev.Time.In(b.location(tz)).Weekday()
	for _, d := range days {
		w, ok := parseWeekday(d)
		if !ok {
			panic(fmt.Errorf("weekday_in: unknown day %q", d))
		}
		if w == wd {
			return true
		}
	}
	return false
}

func parseWeekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(s)
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || s == name[:3] {
			return d, true
		}
	}
	return 0, false
}

// count records this event under key for the event's user (see
// counterIdentity) and returns how many such events fall in the window
// (event time - window, event time]. A key is recorded at most once per
// evaluation of an event, however many rules or calls use it; further calls
// only read the count. An event without a user is not counted (0).
func (b *binding) count(key, window string) int {
	d, ok := b.cat.windows[window]
	if !ok {
		var err error
		if d, err = time.ParseDuration(window); err != nil || d <= 0 {
			panic(fmt.Errorf("count: bad window %q", window))
		}
	}
	user := counterIdentity(b.ev)
	if user == "" {
		return 0
	}
	at := b.ev.Time.UnixNano()
	for _, k := range b.counted {
		if k == key {
			return b.cat.state.count(key, user, at, d)
		}
	}
	b.counted = append(b.counted, key)
	size := b.cat.ringSize[key]
	if size <= 0 {
		size = defaultRingSize
	}
	return b.cat.state.record(key, user, at, b.eventHash(), size, d)
}

// riskAtLeast reports whether the event's risk is at or above level on the
// ladder none < low < medium < high < critical; unknown risk is below none.
func (b *binding) riskAtLeast(level string) bool {
	r := riskRank(level)
	if r < 0 {
		panic(fmt.Errorf("risk_at_least: unknown level %q", level))
	}
	return riskRank(b.ev.Risk) >= r
}
